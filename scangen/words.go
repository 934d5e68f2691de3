package scangen

// Word and phrase lists for the content generator. Every name, facility,
// address and telephone number here is fictional; telephone numbers use the
// 555-01xx range reserved for fiction. Text is plain ASCII without quotes or
// apostrophes, which OCR engines tend to return as typographic variants.

var surnames = []string{
	"DOE", "ROE", "ALVAREZ", "BRENNAN", "CALLOWAY", "DUNMORE", "ELLISON", "FAIRCHILD",
	"GALLAGHER", "HOLLOWAY", "IVERSEN", "JANSSEN", "KOWALCZYK", "LINDQVIST", "MARCHETTI",
	"NAKAMURA", "OKAFOR", "PEMBERTON", "QUINLAN", "RASMUSSEN", "SANTORO", "THORNBURY",
	"UNDERHILL", "VASQUEZ", "WHITLOCK", "YAMADA", "ZIELINSKI", "ABERNATHY", "BOUCHARD", "CHEN",
}

var femaleNames = []string{
	"JANE", "MARGARET", "LINDA", "DOROTHY", "ELEANOR", "GLORIA", "IRENE", "KATHLEEN", "MARIA",
	"OLIVIA", "RUTH", "VIVIAN", "ANITA", "ROSA",
}

var maleNames = []string{
	"JOHN", "ROBERT", "WALTER", "SAMUEL", "FRANCIS", "HAROLD", "JAMES", "LEONARD", "NORMAN",
	"PETER", "THOMAS", "WILLIAM", "DESMOND", "KENJI",
}

var clinicians = []string{
	"Maria Alvarez, MD", "Daniel Okafor, MD", "Susan Whitlock, DO", "Rajesh Menon, MD",
	"Claire Dunmore, NP", "Henry Lindqvist, MD", "Aisha Rahman, MD", "Paul Santoro, PA-C",
	"Grace Holloway, MD", "Victor Iversen, MD", "Naomi Fairchild, MD", "Owen Brennan, DO",
}

type facility struct {
	name, street, city, phone string
}

var facilities = []facility{
	{"RIVERBEND COMMUNITY HOSPITAL", "1200 Harbor Way", "Millbrook, OH 44012", "(555) 010-2345"},
	{"ST. AURELIA MEDICAL CENTER", "48 Chapel Street", "Fairhaven, PA 17021", "(555) 014-7788"},
	{"NORTHFIELD FAMILY CLINIC", "305 Orchard Lane", "Northfield, MN 55101", "(555) 011-9020"},
	{"CEDAR HOLLOW REGIONAL HEALTH", "7 Quarry Road", "Cedar Hollow, VT 05601", "(555) 013-4410"},
	{"LAKESHORE INTERNAL MEDICINE ASSOCIATES", "2210 Shoreline Drive, Suite 300", "Port Elgin, MI 49022", "(555) 016-3001"},
	{"MERIDIAN VALLEY HEALTH SYSTEM", "900 Meridian Parkway", "Greenvale, OR 97301", "(555) 012-6650"},
	{"BLUE HERON ORTHOPAEDIC GROUP", "61 Heron Court", "Stillwater, NC 27510", "(555) 019-2284"},
	{"GRANITE PEAK CARDIOLOGY", "1450 Summit Avenue", "Granite Falls, CO 80401", "(555) 015-8123"},
	{"MIRIAM OSEI, MD", "18 Linden Row", "Ashby, WI 53001", "(555) 017-4402"},
	{"JUNIPER & VALE INTERNISTS", "77 Vale Street, Suite B", "Juniper, ID 83201", "(555) 018-1190"},
	{"HARLOW WOMEN'S CARE", "4 Market Square", "Harlow, ME 04401", "(555) 010-7735"},
	{"SOUTHGATE SURGICAL SPECIALISTS", "2900 Southgate Boulevard", "Rockport, TX 78382", "(555) 014-2218"},
	{"PINE RIDGE ENDOCRINOLOGY", "510 Ridge Road", "Pine Ridge, SD 57770", "(555) 012-0094"},
}

var symptoms = []string{
	"intermittent chest pain", "shortness of breath on exertion", "productive cough", "fatigue",
	"lower back pain", "dizziness when standing", "swelling of both ankles", "abdominal pain",
	"nausea without vomiting", "headache", "palpitations", "joint stiffness in the morning",
	"decreased appetite", "frequent urination", "numbness in the left hand", "low grade fever",
	"difficulty sleeping", "right knee pain", "wheezing at night", "heartburn after meals",
}

var durations = []string{
	"two days", "three days", "one week", "ten days", "two weeks", "one month", "several months",
	"six weeks", "about a year",
}

var diagnoses = []string{
	"essential hypertension", "type 2 diabetes mellitus", "chronic obstructive pulmonary disease",
	"community acquired pneumonia", "congestive heart failure", "osteoarthritis of the right knee",
	"gastroesophageal reflux disease", "atrial fibrillation", "urinary tract infection",
	"iron deficiency anemia", "hyperlipidemia", "acute bronchitis", "chronic kidney disease stage 3",
	"major depressive disorder", "hypothyroidism", "lumbar strain", "migraine without aura",
	"cellulitis of the left leg", "obstructive sleep apnea", "asthma, mild persistent",
}

var medications = []string{
	"lisinopril", "metformin", "atorvastatin", "amlodipine", "metoprolol", "levothyroxine",
	"omeprazole", "furosemide", "sertraline", "albuterol", "apixaban", "gabapentin",
	"amoxicillin", "prednisone", "losartan", "insulin glargine", "tamsulosin", "ibuprofen",
}

var frequencies = []string{
	"once daily", "twice daily", "three times daily", "at bedtime", "every morning",
	"every 6 hours as needed", "with meals",
}

var examFindings = []string{
	"Lungs are clear to auscultation bilaterally.",
	"Heart has a regular rate and rhythm without murmurs.",
	"Abdomen is soft and nontender with normal bowel sounds.",
	"There is no peripheral edema.",
	"Trace pitting edema is noted at both ankles.",
	"Mild tenderness over the lower lumbar spine.",
	"Pupils are equal and reactive to light.",
	"Skin is warm and dry without rashes.",
	"Neurologic examination is grossly nonfocal.",
	"Scattered expiratory wheezes are heard in both lung fields.",
	"The right knee shows mild effusion and crepitus with flexion.",
	"Oropharynx is clear and mucous membranes are moist.",
}

var plans = []string{
	"Continue current medications and recheck labs in three months.",
	"Obtain a chest radiograph and a complete blood count.",
	"Referral to physical therapy for strengthening exercises.",
	"Dietary counseling was provided and the patient agrees to a low sodium diet.",
	"Return to clinic sooner if symptoms worsen or new symptoms develop.",
	"Schedule an echocardiogram and follow up after the study.",
	"Smoking cessation was discussed at length.",
	"Home blood pressure monitoring with a log to bring to the next visit.",
	"Influenza vaccine was administered today without complication.",
	"Basic metabolic panel and hemoglobin A1c ordered.",
	"Discussed warning signs that require emergency evaluation.",
	"Patient education materials were given and questions were answered.",
}

var historyItems = []string{
	"appendectomy at age 19", "cholecystectomy", "coronary artery bypass grafting",
	"right hip replacement", "tonsillectomy in childhood", "cesarean section",
	"hernia repair", "cataract surgery of the left eye", "no prior surgeries",
}

// labTests are (name, units, low, high, decimals) for the lab table.
var labTests = []struct {
	name, units string
	low, high   float64
	decimals    int
}{
	{"Sodium", "mmol/L", 135, 145, 0},
	{"Potassium", "mmol/L", 3.5, 5.1, 1},
	{"Chloride", "mmol/L", 98, 107, 0},
	{"Carbon dioxide", "mmol/L", 22, 29, 0},
	{"Glucose", "mg/dL", 70, 99, 0},
	{"Urea nitrogen", "mg/dL", 7, 20, 0},
	{"Creatinine", "mg/dL", 0.6, 1.2, 2},
	{"Calcium", "mg/dL", 8.6, 10.3, 1},
	{"Hemoglobin", "g/dL", 12.0, 16.0, 1},
	{"Hematocrit", "%", 36, 46, 1},
	{"White blood cells", "K/uL", 4.0, 10.5, 1},
	{"Platelets", "K/uL", 150, 400, 0},
	{"Hemoglobin A1c", "%", 4.0, 5.6, 1},
	{"Total cholesterol", "mg/dL", 100, 199, 0},
	{"LDL cholesterol", "mg/dL", 0, 99, 0},
	{"TSH", "uIU/mL", 0.4, 4.5, 2},
	{"ALT", "U/L", 7, 56, 0},
	{"AST", "U/L", 10, 40, 0},
	{"Albumin", "g/dL", 3.5, 5.0, 1},
	{"Magnesium", "mg/dL", 1.7, 2.2, 1},
}

var labPanels = []string{
	"BASIC METABOLIC PANEL", "COMPREHENSIVE METABOLIC PANEL", "COMPLETE BLOOD COUNT", "LIPID PANEL",
}

var streets = []string{
	"Maple Avenue", "Birch Lane", "Willow Court", "Station Road", "Elm Street", "Lakeview Drive",
	"Hawthorn Way", "Mill Pond Road", "Juniper Street", "Sycamore Terrace", "Ridge Road", "Old Orchard Lane",
}

var towns = []string{
	"Millbrook, OH 44013", "Fairhaven, PA 17022", "Northfield, MN 55102", "Cedar Hollow, VT 05602",
	"Port Elgin, MI 49023", "Greenvale, OR 97302", "Stillwater, NC 27511", "Granite Falls, CO 80402",
}
