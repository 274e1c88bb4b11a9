"""Function calling: APIGen/xLAM (Reflect, Retry, Reward) and BFCL v4's single-turn AST categories."""
