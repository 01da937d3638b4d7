"""The person: identity rules, the contact lookup and the one way a contact is written."""
