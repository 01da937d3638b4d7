"""What a person-and-opportunity payload says, whoever brings it: field aliases and
mapping, validation into a Submission, vertical fields and consent proof, and the intake
rules that shape the lead it opens. Pure: no database, no HTTP."""
