"""The test suite's own real parts.

`dists`: wheels and sdists built on the fly (with `backend.py`, the in-tree PEP 517 backend the
sdists carry); `index`: package indexes on loopback (the real pypiserver, and a static PEP 691/503
index with failure switches).

Azure, each on loopback: `kudu` (the SCM site: vfs, zip, command, and the deployments of
`deployer` and `deployments`; `FlexKuduServer` for Flex Consumption), `appserver` (the site's
own page), `arm` (Resource Manager for `azure-mgmt-web`), `azure` (`AzureSite`: one ARM site with
its Kudu and app servers, per plan), `azurite` (the storage emulator), `entra` (tokens, a
credential object, a fake `az`).
"""
