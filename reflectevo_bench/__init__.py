"""reflectevo-bench: measure and train LLM self-reflection."""

__version__ = "0.1.0"
