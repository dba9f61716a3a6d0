-- Awards without an application (免申即享): a programme may pay the buyer, the seller and the
-- registration body of each registered contract. An award is an application row with its
-- beneficiary; each beneficiary's annual grant and cumulative registered total are its own.
-- migration: automatic awards
ALTER TABLE programmes ADD COLUMN pays_automatically boolean NOT NULL DEFAULT false;
CREATE INDEX programmes_paying_automatically ON programmes (id)
  WHERE status = 1 AND pays_automatically;

-- beneficiary: fund.v1.Beneficiary (1 buyer, 2 seller, 3 registration body). For an automatic
-- award, award_year is the year of registration and counted what the contract added to the
-- beneficiary's registered total (0 when the rules excluded it).
ALTER TABLE applications
  ADD COLUMN beneficiary smallint NOT NULL DEFAULT 1 CHECK (beneficiary BETWEEN 1 AND 3),
  ADD COLUMN automatic   boolean  NOT NULL DEFAULT false,
  ADD COLUMN award_year  int,
  ADD COLUMN counted     bigint CHECK (counted >= 0),
  ADD CONSTRAINT applications_award_basis CHECK (
    automatic = (award_year IS NOT NULL) AND automatic = (counted IS NOT NULL));
DROP INDEX applications_one_per_programme_deal;
CREATE UNIQUE INDEX applications_one_per_programme_deal
  ON applications (programme_id, deal_id, beneficiary) WHERE status <> 3;
-- One award per beneficiary of a deal, whatever the decision: a replayed registration decides
-- nothing twice, and the registered total counts each contract once.
CREATE UNIQUE INDEX applications_one_award_per_beneficiary
  ON applications (programme_id, deal_id, beneficiary) WHERE automatic;
CREATE INDEX applications_registered_totals
  ON applications (programme_id, applicant_org_id, beneficiary, award_year) WHERE automatic;

ALTER TABLE annual_grants
  ADD COLUMN beneficiary smallint NOT NULL DEFAULT 1 CHECK (beneficiary BETWEEN 1 AND 3);
ALTER TABLE annual_grants DROP CONSTRAINT annual_grants_pkey;
ALTER TABLE annual_grants ADD PRIMARY KEY (programme_id, organization_id, year, beneficiary);
