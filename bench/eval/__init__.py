"""Evaluation material for commhealth's judgement: a corpus of real support conversations (texts kept outside)."""
