"""Deals and everything that proves their progress: stakeholders, evidence, activities, next
steps, qualification answers, and the immutable stage history."""
