"""Countdown (Reflect-Retry-Reward): reach a target with each given number exactly once and + - * /."""
