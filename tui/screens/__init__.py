"""One module per screen: search, details, library, index, models, plugins and dialogs."""
