"""The option sets of the standard choice columns of account, contact and lead, as Dataverse's table
reference lists them ("<Column> Choices/Options": Value, Label).

Source: MicrosoftDocs/powerapps-docs, powerapps-docs/developer/data-platform/reference/entities/account.md
and contact.md, and lead.md of the same reference (the Sales tables' columns: budgetstatus, need,
purchaseprocess...). Dataverse refuses any other value with 400 0x8004431A "... is outside the valid
range. Accepted Values: ..." (web-service-error-codes), whether or not a choice's only option is the
placeholder "Default Value" an organization is meant to replace with its own.
"""

from __future__ import annotations

Options = dict[int, str]

DEFAULT: Options = {1: "Default Value"}
STATE_ACTIVE: Options = {0: "Active", 1: "Inactive"}
STATUS_ACTIVE: Options = {1: "Active", 2: "Inactive"}
CONTACT_METHOD: Options = {1: "Any", 2: "Email", 3: "Phone", 4: "Fax", 5: "Mail"}
PAYMENT_TERMS: Options = {1: "Net 30", 2: "2% 10, Net 30", 3: "Net 45", 4: "Net 60"}
WEEKDAYS: Options = {
    0: "Sunday",
    1: "Monday",
    2: "Tuesday",
    3: "Wednesday",
    4: "Thursday",
    5: "Friday",
    6: "Saturday",
}
DAY_PARTS: Options = {1: "Morning", 2: "Afternoon", 3: "Evening"}
ADDRESS_TYPE: Options = {1: "Bill To", 2: "Ship To", 3: "Primary", 4: "Other"}
SHIPPING_METHOD: Options = {
    1: "Airborne",
    2: "DHL",
    3: "FedEx",
    4: "UPS",
    5: "Postal Mail",
    6: "Full Load",
    7: "Will Call",
}
INDUSTRY: Options = dict(
    enumerate(
        [
            "Accounting",
            "Agriculture and Non-petrol Natural Resource Extraction",
            "Broadcasting Printing and Publishing",
            "Brokers",
            "Building Supply Retail",
            "Business Services",
            "Consulting",
            "Consumer Services",
            "Design, Direction and Creative Management",
            "Distributors, Dispatchers and Processors",
            "Doctor's Offices and Clinics",
            "Durable Manufacturing",
            "Eating and Drinking Places",
            "Entertainment Retail",
            "Equipment Rental and Leasing",
            "Financial",
            "Food and Tobacco Processing",
            "Inbound Capital Intensive Processing",
            "Inbound Repair and Services",
            "Insurance",
            "Legal Services",
            "Non-Durable Merchandise Retail",
            "Outbound Consumer Service",
            "Petrochemical Extraction and Distribution",
            "Service Retail",
            "SIG Affiliations",
            "Social Services",
            "Special Outbound Trade Contractors",
            "Specialty Realty",
            "Transportation",
            "Utility Creation and Distribution",
            "Vehicle Retail",
            "Wholesale",
        ],
        start=1,
    )
)
RELATIONSHIP_TYPE: Options = dict(
    enumerate(
        [
            "Competitor",
            "Consultant",
            "Customer",
            "Investor",
            "Partner",
            "Influencer",
            "Press",
            "Prospect",
            "Reseller",
            "Supplier",
            "Vendor",
            "Other",
        ],
        start=1,
    )
)

# Shared by account and contact: the first address has real options, the second the placeholder.
ADDRESSES: dict[str, Options] = {
    "address1_addresstypecode": ADDRESS_TYPE,
    "address1_shippingmethodcode": SHIPPING_METHOD,
    "address2_addresstypecode": DEFAULT,
    "address2_shippingmethodcode": DEFAULT,
}
APPOINTMENTS: dict[str, Options] = {
    "paymenttermscode": PAYMENT_TERMS,
    "preferredappointmentdaycode": WEEKDAYS,
    "preferredappointmenttimecode": DAY_PARTS,
    "preferredcontactmethodcode": CONTACT_METHOD,
    "shippingmethodcode": DEFAULT,
    "territorycode": DEFAULT,
}

OPTIONS: dict[str, dict[str, Options]] = {
    "account": {
        **ADDRESSES,
        **APPOINTMENTS,
        "statecode": STATE_ACTIVE,
        "statuscode": STATUS_ACTIVE,
        "accountcategorycode": {1: "Preferred Customer", 2: "Standard"},
        "accountclassificationcode": DEFAULT,
        "accountratingcode": DEFAULT,
        "businesstypecode": DEFAULT,
        "customersizecode": DEFAULT,
        "customertypecode": RELATIONSHIP_TYPE,
        "industrycode": INDUSTRY,
        "ownershipcode": {1: "Public", 2: "Private", 3: "Subsidiary", 4: "Other"},
    },
    "contact": {
        **ADDRESSES,
        **APPOINTMENTS,
        "statecode": STATE_ACTIVE,
        "statuscode": STATUS_ACTIVE,
        "accountrolecode": {1: "Decision Maker", 2: "Employee", 3: "Influencer"},
        "customersizecode": DEFAULT,
        "customertypecode": DEFAULT,
        "educationcode": DEFAULT,
        "familystatuscode": {1: "Single", 2: "Married", 3: "Divorced", 4: "Widowed"},
        "gendercode": {1: "Male", 2: "Female"},
        "haschildrencode": DEFAULT,
        "leadsourcecode": DEFAULT,
    },
    "lead": {
        "address1_addresstypecode": DEFAULT,
        "address1_shippingmethodcode": DEFAULT,
        "address2_addresstypecode": DEFAULT,
        "address2_shippingmethodcode": DEFAULT,
        "statecode": {0: "Open", 1: "Qualified", 2: "Disqualified"},
        "statuscode": {
            1: "New",
            2: "Contacted",
            3: "Qualified",
            4: "Lost",
            5: "Cannot Contact",
            6: "No Longer Interested",
            7: "Canceled",
        },
        "budgetstatus": {0: "No Committed Budget", 1: "May Buy", 2: "Can Buy", 3: "Will Buy"},
        "industrycode": INDUSTRY,
        "initialcommunication": {0: "Contacted", 1: "Not Contacted"},
        "leadqualitycode": {1: "Hot", 2: "Warm", 3: "Cold"},
        "leadsourcecode": {
            1: "Advertisement",
            2: "Employee Referral",
            3: "External Referral",
            4: "Partner",
            5: "Public Relations",
            6: "Seminar",
            7: "Trade Show",
            8: "Web",
            9: "Word of Mouth",
            10: "Other",
        },
        "need": {0: "Must have", 1: "Should have", 2: "Good to have", 3: "No need"},
        "preferredcontactmethodcode": CONTACT_METHOD,
        "prioritycode": DEFAULT,
        "purchaseprocess": {0: "Individual", 1: "Committee", 2: "Unknown"},
        "purchasetimeframe": {
            0: "Immediate",
            1: "This Quarter",
            2: "Next Quarter",
            3: "This Year",
            4: "Unknown",
        },
        "salesstage": {0: "Qualify"},
        "salesstagecode": DEFAULT,
    },
}
