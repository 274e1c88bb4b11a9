"""``reflectevo-bench data import``: training sets released by others, converted into this project's rows + card."""
