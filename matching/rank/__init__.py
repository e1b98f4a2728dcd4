"""The ranking of a recommendation: the question and who may answer it (eligibility), the
link-predictive graph signals, the features of every candidate, the learned model and the
baselines it is measured against. matching.recommend drives them; jobs/evaluate_links measures."""
