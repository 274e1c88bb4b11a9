"""GSM8K: grade-school math word problems, exact numeric answers."""
