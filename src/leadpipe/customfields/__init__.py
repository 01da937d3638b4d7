"""Custom fields: per-workspace field definitions and the values leads carry."""
