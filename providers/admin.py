from django.contrib import admin

from providers.models import Absence, Document, Provider, ProviderEmail, ProviderSkill


class ProviderEmailInline(admin.TabularInline):
    model = ProviderEmail
    extra = 0
    exclude = ["workspace"]


class ProviderSkillInline(admin.TabularInline):
    model = ProviderSkill
    extra = 0


class AbsenceInline(admin.TabularInline):
    model = Absence
    extra = 0


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["name", "company", "kind", "status", "country", "workspace"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "company", "emails__email"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace"]
    inlines = [ProviderEmailInline, ProviderSkillInline, AbsenceInline]

    def save_formset(self, request, form, formset, change):  # type: ignore[no-untyped-def]
        # Contact rows carry the provider's workspace for the mail lookup index.
        for obj in formset.save(commit=False):
            if isinstance(obj, ProviderEmail):
                obj.workspace_id = form.instance.workspace_id
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    list_display = ["provider", "starts_on", "ends_on", "note"]
    list_select_related = ["provider"]
    raw_id_fields = ["provider"]


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "provider", "kind", "expires_on", "uploaded_at"]
    list_filter = ["kind"]
    list_select_related = ["provider"]
    raw_id_fields = ["provider", "uploaded_by"]
