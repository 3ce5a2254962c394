"""Flask-WTF forms, one module per blueprint."""

from wtforms.fields.choices import SelectChoice


def choices(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs (WTForms 3.4 no longer takes bare tuples)."""
    return [SelectChoice(value, label) for value, label in pairs]
