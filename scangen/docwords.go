package scangen

// Phrase lists for the document types beyond the clinical note: operative,
// pathology, imaging, medication, consent, insurance, letters and forms.
// Everything is made up; plain ASCII, no quotes or apostrophes.

var procedures = []string{
	"laparoscopic cholecystectomy", "right total knee arthroplasty", "open reduction and internal fixation of the left distal radius",
	"laparoscopic appendectomy", "left inguinal hernia repair with mesh", "colonoscopy with polypectomy",
	"excision of a skin lesion of the left forearm", "right carpal tunnel release", "cystoscopy with ureteral stent placement",
	"arthroscopic partial medial meniscectomy of the right knee", "total abdominal hysterectomy", "placement of a tunneled central venous catheter",
}

var operativeSteps = []string{
	"The patient was brought to the operating room and placed in the supine position.",
	"After induction of general anesthesia, the operative site was prepped and draped in the usual sterile fashion.",
	"A time-out was performed confirming the correct patient, procedure and site.",
	"A skin incision was made and carried down through the subcutaneous tissue with electrocautery.",
	"Hemostasis was obtained with electrocautery and the field was irrigated with warm saline.",
	"The fascia was closed with a running absorbable suture.",
	"The skin was closed with staples and a sterile dressing was applied.",
	"Sponge, needle and instrument counts were correct at the end of the case.",
	"The specimen was removed and sent to pathology for examination.",
	"Pneumoperitoneum was established and trocars were placed under direct vision.",
	"The cystic duct and cystic artery were identified, clipped and divided.",
	"The patient tolerated the procedure well and was taken to the recovery room in stable condition.",
	"Local anesthetic was infiltrated into the wound edges at the end of the procedure.",
	"The tourniquet was released and capillary refill returned promptly.",
}

var anesthesiaTypes = []string{"General endotracheal", "Monitored anesthesia care", "Spinal", "Regional block with sedation", "Local with sedation"}

var specimens = []struct{ site, gross, micro, diagnosis string }{
	{"Gallbladder, cholecystectomy",
		"Received in formalin is an intact gallbladder measuring 8.5 x 3.0 x 2.4 cm containing multiple yellow-green stones.",
		"Sections show a thickened gallbladder wall with chronic inflammation and Rokitansky-Aschoff sinuses.",
		"Chronic cholecystitis with cholelithiasis."},
	{"Skin, left forearm, shave biopsy",
		"Received in formalin is a tan-brown shave of skin measuring 0.8 x 0.6 x 0.2 cm, entirely submitted.",
		"Sections show a proliferation of atypical basaloid cells with peripheral palisading.",
		"Basal cell carcinoma, nodular type, peripheral margin involved."},
	{"Colon, sigmoid, polypectomy",
		"Received in formalin are two tan-pink polypoid fragments measuring 0.4 and 0.6 cm, entirely submitted.",
		"Sections show colonic mucosa with tubular architecture and low grade dysplasia.",
		"Tubular adenoma, negative for high grade dysplasia."},
	{"Breast, right, core needle biopsy",
		"Received in formalin are four tan-white cores of tissue measuring up to 1.5 cm in length.",
		"Sections show fibrous stroma with dilated ducts and apocrine metaplasia without atypia.",
		"Fibrocystic changes, negative for malignancy."},
	{"Appendix, appendectomy",
		"Received in formalin is a vermiform appendix measuring 6.2 cm in length and 0.9 cm in diameter with a dull serosa.",
		"Sections show transmural neutrophilic infiltrate with serositis.",
		"Acute appendicitis with periappendicitis."},
	{"Endometrium, biopsy",
		"Received in formalin are multiple fragments of tan-red soft tissue aggregating to 1.2 x 1.0 x 0.3 cm.",
		"Sections show proliferative endometrium without hyperplasia.",
		"Proliferative phase endometrium, no hyperplasia or malignancy identified."},
	{"Lymph node, left axillary, excision",
		"Received fresh is a lymph node measuring 1.8 x 1.1 x 0.9 cm, bisected and entirely submitted.",
		"Sections show reactive follicular hyperplasia with preserved nodal architecture.",
		"Reactive lymphoid hyperplasia, no evidence of metastatic carcinoma."},
}

var pathologyNotes = []string{
	"Immunohistochemical stains were reviewed with appropriate controls.",
	"The slides were reviewed at the intradepartmental consensus conference.",
	"Margins are evaluated on the permanent sections.",
	"Clinical correlation is recommended.",
	"The gross description was dictated by the pathologist assistant.",
}

var imagingExams = []struct{ exam, technique string }{
	{"CHEST X-RAY, 2 VIEWS", "Frontal and lateral views of the chest were obtained."},
	{"CT ABDOMEN AND PELVIS WITH CONTRAST", "Axial images were obtained through the abdomen and pelvis after intravenous contrast."},
	{"CT HEAD WITHOUT CONTRAST", "Noncontrast axial images of the head were obtained with coronal and sagittal reformats."},
	{"MRI LUMBAR SPINE WITHOUT CONTRAST", "Multiplanar multisequence images of the lumbar spine were obtained without contrast."},
	{"ULTRASOUND RIGHT UPPER QUADRANT", "Grayscale and color Doppler images of the right upper quadrant were obtained."},
	{"XR RIGHT KNEE, 3 VIEWS", "Three views of the right knee were obtained."},
	{"BILATERAL SCREENING MAMMOGRAM", "Standard craniocaudal and mediolateral oblique views of both breasts were obtained."},
	{"CT ANGIOGRAPHY CHEST", "Thin section images were obtained during the pulmonary arterial phase of contrast."},
}

var imagingFindings = []string{
	"The lungs are clear without focal consolidation, pleural effusion or pneumothorax.",
	"The cardiomediastinal silhouette is within normal limits.",
	"No acute osseous abnormality is identified.",
	"The liver is normal in size and echotexture without focal lesion.",
	"The gallbladder contains several shadowing stones without wall thickening.",
	"There is mild disc desiccation and bulging at L4-L5 without significant canal stenosis.",
	"No acute intracranial hemorrhage, mass effect or midline shift.",
	"The ventricles and sulci are normal for age.",
	"Mild tricompartmental joint space narrowing with small osteophytes.",
	"No filling defect is seen within the pulmonary arteries.",
	"The kidneys enhance symmetrically without hydronephrosis.",
	"Scattered fibroglandular densities without suspicious mass or calcification.",
	"A small hiatal hernia is noted.",
	"Degenerative changes of the thoracic spine are present.",
}

var imagingImpressions = []string{
	"No acute cardiopulmonary process.",
	"Cholelithiasis without sonographic evidence of acute cholecystitis.",
	"Degenerative disc disease at L4-L5 without high grade stenosis.",
	"No acute intracranial abnormality.",
	"Moderate osteoarthritis of the right knee.",
	"No evidence of pulmonary embolism.",
	"BI-RADS 1, negative. Routine screening in one year is recommended.",
	"No acute abnormality of the abdomen or pelvis.",
}

var routes = []string{"by mouth", "by mouth", "subcutaneous", "inhaled", "topical"}

var allergies = []string{"No known drug allergies", "Penicillin (rash)", "Sulfa drugs (hives)", "Codeine (nausea)", "Latex", "Shellfish"}

var consentRisks = []string{
	"bleeding", "infection", "injury to nearby organs", "blood clots", "reaction to anesthesia",
	"the need for further surgery", "nerve damage", "scarring",
}

var payers = []struct{ name, plan, phone string }{
	{"EVERGREEN MUTUAL HEALTH", "PPO Gold", "1-800-555-0141"},
	{"KEYSTONE BENEFIT PLAN", "HMO Select", "1-800-555-0142"},
	{"NORTHSTAR HEALTH ALLIANCE", "EPO Standard", "1-800-555-0143"},
	{"SILVERLAKE COMMUNITY CARE", "Medicare Advantage", "1-800-555-0144"},
	{"PRAIRIE STATE ASSURANCE", "High Deductible PPO", "1-800-555-0145"},
}

var employers = []string{"Harbor Freightlines", "Millbrook School District", "Cedar Mills Bakery", "Self-employed", "Retired", "County Public Works"}

var relations = []string{"Spouse", "Daughter", "Son", "Sister", "Brother", "Friend", "Parent"}

var correspondencePurposes = [][]string{
	{ // appointment
		"This letter is to remind you of your upcoming appointment at our office.",
		"Please arrive fifteen minutes early and bring your insurance card and a list of your current medications.",
		"If you are unable to keep this appointment, please call our office at least one day in advance.",
		"We look forward to seeing you.",
	},
	{ // results
		"We are writing to let you know the results of your recent tests.",
		"Your results were reviewed by your physician and are within the expected range.",
		"No change to your current treatment is needed at this time.",
		"Please keep your scheduled follow-up visit and call us with any questions.",
	},
	{ // work note
		"To whom it may concern, the above named patient was seen in our clinic.",
		"The patient may return to work without restrictions on the date below.",
		"Please excuse the absence from work during the period of treatment.",
		"If you require further information, please contact our office.",
	},
	{ // missed appointment
		"Our records show that you missed your scheduled appointment.",
		"Regular follow-up is important for managing your health conditions.",
		"Please call our office to reschedule at your earliest convenience.",
		"Repeated missed appointments may affect our ability to schedule future visits.",
	},
	{ // records request
		"We have received your request for copies of your medical records.",
		"The enclosed records cover the dates of service you requested.",
		"Please note that some records may be held by other facilities.",
		"There is no charge for records sent directly to another provider.",
	},
	{ // insurer
		"We are writing on behalf of our patient regarding a recent claim.",
		"The services were medically necessary and were provided as documented in the enclosed notes.",
		"We kindly ask that the claim be reviewed again for payment.",
		"Please contact our billing office with any questions regarding this account.",
	},
}

var referralSentences = []string{
	"I am referring this patient to you for evaluation and management of %s.",
	"Thank you for seeing this patient in consultation regarding %s.",
	"The patient has a history of %s and has not responded to initial treatment.",
	"Current medications include %s.",
	"Recent laboratory results and imaging are enclosed for your review.",
	"I would appreciate your recommendations regarding further workup and treatment.",
	"Please send your report to my office at the address above.",
	"The patient is aware of this referral and will call your office to schedule.",
	"Insurance authorization for this referral has been requested.",
	"The referral is urgent and I would appreciate an appointment within two weeks.",
}

var specialties = []string{"Cardiology", "Orthopedics", "Gastroenterology", "Pulmonology", "Endocrinology", "Neurology", "Nephrology", "Dermatology", "Rheumatology", "General Surgery"}

var socialHistory = []string{
	"The patient is a former smoker with a twenty pack-year history.",
	"The patient never smoked and drinks alcohol socially.",
	"Lives at home with a spouse and is independent in daily activities.",
	"Works as a teacher and exercises three times a week.",
	"Denies illicit drug use.",
	"Retired and lives alone with family nearby.",
}

var familyHistory = []string{
	"Father with coronary artery disease in his sixties.",
	"Mother with type 2 diabetes mellitus and hypertension.",
	"A sister with breast cancer.",
	"No family history of colon cancer.",
	"Family history is noncontributory.",
}

var reviewOfSystems = []string{
	"Constitutional: negative for fever, chills or weight loss.",
	"Cardiovascular: negative for chest pain or palpitations.",
	"Respiratory: positive for cough, negative for hemoptysis.",
	"Gastrointestinal: negative for nausea, vomiting or diarrhea.",
	"Genitourinary: negative for dysuria or hematuria.",
	"Musculoskeletal: positive for joint pain.",
	"Neurological: negative for focal weakness or numbness.",
	"All other systems reviewed and negative.",
}

var dischargeConditions = []string{"Stable", "Good", "Fair", "Improved"}

var dispositions = []string{"Home", "Home with home health services", "Skilled nursing facility", "Inpatient rehabilitation", "Home with family"}

var hospitalCourse = []string{
	"The patient was admitted to the medical floor and started on intravenous antibiotics.",
	"Serial laboratory studies showed steady improvement over the hospital stay.",
	"Physical therapy evaluated the patient and recommended a walker for ambulation.",
	"The patient was transitioned to oral medications on hospital day three.",
	"Telemetry showed no significant arrhythmias during the admission.",
	"Diuresis was achieved with intravenous furosemide with improvement in dyspnea.",
	"The patient remained afebrile for more than forty-eight hours prior to discharge.",
	"Blood cultures remained negative throughout the admission.",
	"Pain was controlled with oral analgesics by the day of discharge.",
}

var consultClosings = []string{
	"Thank you for allowing us to participate in the care of this patient.",
	"We will continue to follow the patient with you.",
	"Please do not hesitate to contact me with any questions.",
	"Our team will see the patient again tomorrow.",
}

var faxNotice = "CONFIDENTIALITY NOTICE: This facsimile contains confidential health information that is protected by law. " +
	"It is intended only for the use of the recipient named above. If you have received this transmission in error, " +
	"please notify the sender by telephone immediately and destroy the documents. Any review, disclosure or distribution " +
	"by anyone other than the intended recipient is prohibited."
