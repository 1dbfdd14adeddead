"""Who may do what: the team file (users and their roles, standard users' permissions per object
kind), the permission check a plan applies record by record, admin approval of profiles, and the CRM
users who own contacts. docs/team.md is the reference for people."""
