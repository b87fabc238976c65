#!/usr/bin/python3
# A module whose 'results' holds a no_log item: the plugin censors that item.
from ansible.module_utils.basic import AnsibleModule

module = AnsibleModule(argument_spec={})
module.exit_json(changed=False, results=[{'_ansible_no_log': True, 'secret': 's3cr3t'}, {'public': 1}])
