"""MLflow's tracking server and Model Registry over its REST API (`requests`; mlflow is never imported).

`client` is the transport (credentials from the environment, bounded calls, retries, errors that name the
server without its credentials), `runs` finds the run of a commit, `names` holds MLflow's rules for
registered model names and aliases, checked when mlci.yaml is read.
"""
