"""Helpers shared by the task families: the local-or-hub data loader and answer extraction."""
