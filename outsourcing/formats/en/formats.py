"""Django's date formats, following each person's chosen format locale (see outsourcing.formats)."""

from outsourcing.formats import module_values

globals().update(module_values())
