"""``reflectevo-bench view``: a self-contained HTML transcript browser over one or more run dirs."""
