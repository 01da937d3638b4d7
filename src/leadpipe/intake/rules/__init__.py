"""Intake's pure rules: mapping a payload, checking a submission, telling deliveries apart."""
