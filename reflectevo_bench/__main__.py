"""`python -m reflectevo_bench ...` (and `accelerate launch -m reflectevo_bench train sft ...`)."""

from reflectevo_bench.cli import main

if __name__ == "__main__":
    main()
