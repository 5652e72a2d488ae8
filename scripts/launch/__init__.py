"""What the command-line scripts share to launch and reach the app: the whole app on a local
Ray (:mod:`scripts.launch.local_app`) and the ingress replica's own port
(:mod:`scripts.launch.direct_ingress`). Not Ray Serve adapters: nothing in ``deployments/``
imports them."""
