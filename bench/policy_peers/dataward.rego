# dataward default policy as Rego (OPA syntax v1), for bench/policy_bench.py.
# input: {action, category, role, purpose, recipient}; data.classes: category -> class;
# data.processors: name -> {purpose, categories}. Deny by default; allow rules as in
# src/dataward/policy/default_policy.yaml, and its hard guards.
package dataward

import rego.v1

default allow := false

allow if {
	permit
	not hard_deny
}

hard_deny if data.classes[input.category] == "forbidden"

hard_deny if {
	input.category in {"card.pan", "card.cvv"}
	input.action in {"store", "archive"}
}

# card-number-intake
permit if {
	input.action in {"create"}
	input.category in {"card.cvv", "card.pan"}
	input.role in {"billing", "service"}
	input.purpose in {"billing"}
}

# card-number-to-processor
permit if {
	input.action in {"share"}
	input.category in {"card.cvv", "card.pan"}
	input.role in {"billing", "service"}
	input.purpose in {"billing"}
	input.recipient in {"card-processor"}
	input.category in data.processors[input.recipient].categories
	input.purpose == data.processors[input.recipient].purpose
}

# card-number-discard
permit if {
	input.action in {"destroy"}
	input.category in {"card.cvv", "card.pan"}
	input.role in {"billing", "dpm", "service"}
	input.purpose in {"billing", "data_subject_request"}
}

# card-token-kept-encrypted
permit if {
	input.action in {"create", "store", "use"}
	input.category in {"card.token"}
	input.role in {"billing", "service"}
	input.purpose in {"billing"}
}

# card-token-exchange
permit if {
	input.action in {"share"}
	input.category in {"card.token"}
	input.role in {"billing", "service"}
	input.purpose in {"billing"}
	input.recipient in {"card-processor"}
	input.category in data.processors[input.recipient].categories
	input.purpose == data.processors[input.recipient].purpose
}

# card-expiry-display
permit if {
	input.action in {"create", "store", "use"}
	input.category in {"card.expiry"}
	input.role in {"billing", "service"}
	input.purpose in {"billing"}
}

# card-expiry-support
permit if {
	input.action in {"use"}
	input.category in {"card.expiry"}
	input.role in {"support"}
	input.purpose in {"support"}
}

# card-expiry-to-processor
permit if {
	input.action in {"share"}
	input.category in {"card.expiry"}
	input.role in {"billing", "service"}
	input.purpose in {"billing"}
	input.recipient in {"card-processor"}
	input.category in data.processors[input.recipient].categories
	input.purpose == data.processors[input.recipient].purpose
}

# card-on-file-erasure
permit if {
	input.action in {"destroy"}
	input.category in {"card.expiry", "card.token"}
	input.role in {"dpm"}
	input.purpose in {"data_subject_request"}
}

# card-on-file-lifecycle
permit if {
	input.action in {"destroy"}
	input.category in {"card.expiry", "card.token"}
	input.role in {"billing", "service"}
	input.purpose in {"billing", "legal"}
}

# secret-hashed-only
permit if {
	input.action in {"store"}
	input.category in {"secret.password", "secret.recovery_code"}
	input.role in {"authentication"}
	input.purpose in {"authentication"}
}

# high-stored-encrypted
permit if {
	input.action in {"store"}
	data.classes[input.category] == "high"
	input.role in {"authentication"}
	input.purpose in {"authentication"}
}

# high-authentication-only
permit if {
	input.action in {"create", "use"}
	data.classes[input.category] == "high"
	input.role in {"authentication"}
	input.purpose in {"authentication"}
}

# high-erasure
permit if {
	input.action in {"destroy"}
	data.classes[input.category] == "high"
	input.role in {"dpm"}
	input.purpose in {"data_subject_request"}
}

# high-lifecycle
permit if {
	input.action in {"destroy"}
	data.classes[input.category] == "high"
	input.role in {"authentication", "service"}
	input.purpose in {"authentication", "legal"}
}

# low-service
permit if {
	input.action in {"create", "store", "use"}
	data.classes[input.category] == "low"
	input.role in {"service"}
	input.purpose in {"contract"}
}

# low-support
permit if {
	input.action in {"create", "store", "use"}
	data.classes[input.category] == "low"
	input.role in {"support"}
	input.purpose in {"support"}
}

# low-billing
permit if {
	input.action in {"create", "store", "use"}
	data.classes[input.category] == "low"
	input.role in {"billing"}
	input.purpose in {"billing"}
}

# low-sales
permit if {
	input.action in {"create", "store", "use"}
	data.classes[input.category] == "low"
	input.role in {"sales"}
	input.purpose in {"sales"}
}

# low-security
permit if {
	input.action in {"use"}
	data.classes[input.category] == "low"
	input.role in {"service", "support"}
	input.purpose in {"security"}
}

# low-dpm
permit if {
	input.action in {"store", "use"}
	data.classes[input.category] == "low"
	input.role in {"dpm"}
	input.purpose in {"data_subject_request", "legal"}
}

# low-share-processor
permit if {
	input.action in {"share"}
	data.classes[input.category] == "low"
	input.role in {"billing", "service"}
	input.purpose in {"billing"}
	input.recipient in {"card-processor"}
	input.category in data.processors[input.recipient].categories
	input.purpose == data.processors[input.recipient].purpose
}

# low-archive
permit if {
	input.action in {"archive"}
	data.classes[input.category] == "low"
	input.role in {"service"}
	input.purpose in {"legal"}
}

# low-erasure
permit if {
	input.action in {"destroy"}
	data.classes[input.category] == "low"
	input.role in {"dpm"}
	input.purpose in {"data_subject_request"}
}

# low-lifecycle
permit if {
	input.action in {"destroy"}
	data.classes[input.category] == "low"
	input.role in {"service"}
	input.purpose in {"contract", "legal"}
}

# usage-for-billing
permit if {
	input.action in {"create", "store", "use"}
	input.category in {"traffic.usage"}
	input.role in {"billing"}
	input.purpose in {"billing"}
}

# communications-service
permit if {
	input.action in {"create", "store", "use"}
	input.category in {"communication.chat", "communication.email", "communication.mail", "communication.phone_call", "communication.support_message"}
	input.role in {"service"}
	input.purpose in {"contract"}
}

# communications-support
permit if {
	input.action in {"create", "store", "use"}
	input.category in {"communication.chat", "communication.email", "communication.mail", "communication.phone_call", "communication.support_message"}
	input.role in {"support"}
	input.purpose in {"support"}
}

# communications-billing
permit if {
	input.action in {"create", "store", "use"}
	input.category in {"communication.chat", "communication.email", "communication.mail", "communication.phone_call", "communication.support_message"}
	input.role in {"billing"}
	input.purpose in {"billing"}
}

# communications-sales
permit if {
	input.action in {"create", "store", "use"}
	input.category in {"communication.chat", "communication.email", "communication.mail", "communication.phone_call", "communication.support_message"}
	input.role in {"sales"}
	input.purpose in {"sales"}
}

# communications-archive
permit if {
	input.action in {"archive"}
	input.category in {"communication.chat", "communication.email", "communication.mail", "communication.phone_call", "communication.support_message"}
	input.role in {"service"}
	input.purpose in {"legal"}
}

# medium-service
permit if {
	input.action in {"create", "store", "use"}
	data.classes[input.category] == "medium"
	input.role in {"service"}
	input.purpose in {"contract", "security"}
}

# medium-support
permit if {
	input.action in {"use"}
	data.classes[input.category] == "medium"
	input.role in {"support"}
	input.purpose in {"security", "support"}
}

# medium-dpm
permit if {
	input.action in {"store", "use"}
	data.classes[input.category] == "medium"
	input.role in {"dpm"}
	input.purpose in {"data_subject_request", "legal"}
}

# medium-archive
permit if {
	input.action in {"archive"}
	data.classes[input.category] == "medium"
	input.role in {"service"}
	input.purpose in {"legal"}
}

# medium-erasure
permit if {
	input.action in {"destroy"}
	data.classes[input.category] == "medium"
	input.role in {"dpm"}
	input.purpose in {"data_subject_request"}
}

# medium-lifecycle
permit if {
	input.action in {"destroy"}
	data.classes[input.category] == "medium"
	input.role in {"service"}
	input.purpose in {"contract", "legal"}
}
