from django.contrib import admin

from providers.models import Absence, Document, Provider, ProviderEmail, ProviderSkill
from providers.services import calendar_check, stored_calendar
from providers.signals import calendar_changed


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
    readonly_fields = ["created_at"]


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ["name", "company", "kind", "status", "country", "workspace"]
    list_filter = ["kind", "status"]
    search_fields = ["name", "company", "emails__email"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace"]
    inlines = [ProviderEmailInline, ProviderSkillInline, AbsenceInline]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        # Edits here bypass provider_update: due times must still follow a new policy, zone or country.
        before = stored_calendar(obj.pk) if change else None
        super().save_model(request, obj, form, change)
        if before is not None:
            calendar_check(obj, before)

    def save_formset(self, request, form, formset, change):  # type: ignore[no-untyped-def]
        # Contact rows carry the provider's workspace for the mail lookup index.
        for obj in formset.save(commit=False):
            if isinstance(obj, ProviderEmail):
                obj.workspace_id = form.instance.workspace_id
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        if formset.model is Absence and (
            formset.new_objects or formset.changed_objects or formset.deleted_objects
        ):
            calendar_changed.send(sender=Provider, provider=form.instance)


@admin.register(Absence)
class AbsenceAdmin(admin.ModelAdmin):
    list_display = ["provider", "starts_on", "ends_on", "note"]
    list_select_related = ["provider"]
    raw_id_fields = ["provider"]
    readonly_fields = ["created_at"]

    # An absence moves its provider's due times, as absence_add and absence_delete do.
    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        calendar_changed.send(sender=Provider, provider=obj.provider)

    def delete_model(self, request, obj):  # type: ignore[no-untyped-def]
        super().delete_model(request, obj)
        calendar_changed.send(sender=Provider, provider=obj.provider)

    def delete_queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        providers = list(Provider.objects.filter(pk__in=queryset.values("provider_id")))
        super().delete_queryset(request, queryset)
        for provider in providers:
            calendar_changed.send(sender=Provider, provider=provider)


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "provider", "kind", "expires_on", "uploaded_at"]
    list_filter = ["kind"]
    list_select_related = ["provider"]
    raw_id_fields = ["provider", "uploaded_by"]
