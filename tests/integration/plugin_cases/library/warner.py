#!/usr/bin/python3
# A module that returns a warning and a deprecation: the callback prints them
# inside the runner_on_ok event.
from ansible.module_utils.basic import AnsibleModule

module = AnsibleModule(argument_spec={})
module.warn('the warner module warns')
module.deprecate('the warner module is old', version='9.9')
module.exit_json(changed=False, big='x' * 20)
