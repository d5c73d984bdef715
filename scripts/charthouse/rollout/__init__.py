"""``charthouse rollout``: blue-green and canary rollouts of the app chart, by plain helm.

Every traffic change is a ``helm upgrade`` of the release (so ``helm history`` lists
each step and ``helm rollback`` works), and between the changes gates decide whether
the new version may take more traffic. No controller or CRD runs in the cluster: the
command is the controller while it runs, and its progress lives in the release's
namespace (a ConfigMap owned by the release's main Service), so a command killed
mid-step and run again resumes, from any machine.

Modules, one job each:

* :mod:`.outcome`: how a rollout ends, and the exit code of each ending.
* :mod:`.settings`: the rollout's settings, read from the chart values.
* :mod:`.values`: the values keys the command owns, and composing a revision's values.
* :mod:`.strategies`: the plan of steps for blueGreen and canary, and their aborts.
* :mod:`.state`: the record of a rollout and its lease, stored in the cluster.
* :mod:`.helm` / :mod:`.kube`: the release through helm, the objects through the API.
* :mod:`.gates` (:mod:`.smoke`, :mod:`.prometheus`): what must hold before traffic moves.
* :mod:`.engine`: runs a plan step by step, resuming and aborting.
* :mod:`.report`: progress on a terminal, the result as text or JSON.
"""
