"""homecare homecare."""
