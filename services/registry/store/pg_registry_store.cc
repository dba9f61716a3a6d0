#include "services/registry/store/pg_registry_store.h"

#include <google/protobuf/util/time_util.h>

#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace techtrade::registry {
namespace {

using google::protobuf::util::TimeUtil;

// Sets a timestamp only for a non-NULL column: an unset field, not the epoch, means "never".
template <class MutableTimestamp>
void SetTime(const pqxx::field& f, MutableTimestamp mutable_timestamp) {
  if (!f.is_null()) *mutable_timestamp() = TimeUtil::MicrosecondsToTimestamp(f.as<int64_t>());
}

const std::string kCityColumns =
    absl::StrCat("id, name, kind, division_code, version, ordinal, ", EpochMicros("create_time"),
                 ", ", EpochMicros("update_time"), ", contract_registration_days");

v1::PilotCity CityFromRow(const pqxx::row& r) {
  v1::PilotCity c;
  c.set_id(r[0].as<std::string>());
  c.set_name(r[1].as<std::string>());
  c.set_kind(static_cast<v1::PilotCityKind>(r[2].as<int>()));
  c.set_division_code(r[3].as<std::string>());
  c.set_version(r[4].as<int64_t>());
  SetTime(r[6], [&] { return c.mutable_create_time(); });
  SetTime(r[7], [&] { return c.mutable_update_time(); });
  c.set_contract_registration_days(r[8].as<int>());
  return c;
}

const std::string kOrgColumns = absl::StrCat(
    "id::text, credit_code, name, kind, city_id, status, address, contact_email, description, "
    "suspension_reason, version, ordinal, ",
    EpochMicros("create_time"), ", ", EpochMicros("update_time"), ", ", EpochMicros("verify_time"),
    ", ever_verified");

v1::Organization OrgFromRow(const pqxx::row& r) {
  v1::Organization o;
  o.set_id(r[0].as<std::string>());
  o.set_credit_code(r[1].as<std::string>());
  o.set_name(r[2].as<std::string>());
  o.set_kind(static_cast<v1::OrganizationKind>(r[3].as<int>()));
  o.set_city_id(r[4].as<std::string>());
  o.set_status(static_cast<v1::OrganizationStatus>(r[5].as<int>()));
  o.set_address(r[6].as<std::string>());
  o.set_contact_email(r[7].as<std::string>());
  o.set_description(r[8].as<std::string>());
  o.set_suspension_reason(r[9].as<std::string>());
  o.set_version(r[10].as<int64_t>());
  SetTime(r[12], [&] { return o.mutable_create_time(); });
  SetTime(r[13], [&] { return o.mutable_update_time(); });
  SetTime(r[14], [&] { return o.mutable_verify_time(); });
  return o;
}

const std::string kClientColumns = absl::StrCat(
    "id, name, role, COALESCE(city_id, ''), status, version, ordinal, ", EpochMicros("create_time"),
    ", ", EpochMicros("revoke_time"), ", secret_hash, ", "COALESCE(organization_id::text, '')");

v1::ApiClient ClientFromRow(const pqxx::row& r) {
  v1::ApiClient c;
  c.set_id(r[0].as<std::string>());
  c.set_name(r[1].as<std::string>());
  c.set_role(static_cast<v1::ApiClientRole>(r[2].as<int>()));
  c.set_city_id(r[3].as<std::string>());
  c.set_status(static_cast<v1::ApiClientStatus>(r[4].as<int>()));
  c.set_version(r[5].as<int64_t>());
  SetTime(r[7], [&] { return c.mutable_create_time(); });
  SetTime(r[8], [&] { return c.mutable_revoke_time(); });
  c.set_organization_id(r[10].as<std::string>());
  return c;
}

const std::string kManagerColumns = absl::StrCat(
    "id::text, name, certificate_number, certifying_authority, organization_id::text, city_id, "
    "status, revocation_reason, version, ordinal, ",
    EpochMicros("certificate_expire_time"), ", ", EpochMicros("create_time"), ", ",
    EpochMicros("update_time"));

v1::TechnologyManager ManagerFromRow(const pqxx::row& r) {
  v1::TechnologyManager m;
  m.set_id(r[0].as<std::string>());
  m.set_name(r[1].as<std::string>());
  m.set_certificate_number(r[2].as<std::string>());
  m.set_certifying_authority(r[3].as<std::string>());
  m.set_organization_id(r[4].as<std::string>());
  m.set_city_id(r[5].as<std::string>());
  m.set_status(static_cast<v1::TechnologyManagerStatus>(r[6].as<int>()));
  m.set_revocation_reason(r[7].as<std::string>());
  m.set_version(r[8].as<int64_t>());
  SetTime(r[10], [&] { return m.mutable_certificate_expire_time(); });
  SetTime(r[11], [&] { return m.mutable_create_time(); });
  SetTime(r[12], [&] { return m.mutable_update_time(); });
  return m;
}

template <class T, class FromRow>
Page<T> ToPage(const pqxx::result& rows, int limit, int ordinal_column, FromRow from_row) {
  Page<T> page;
  for (int i = 0; i < static_cast<int>(rows.size()) && i < limit; ++i) {
    page.items.push_back(from_row(rows[i]));
    page.last_ordinal = rows[i][ordinal_column].template as<int64_t>();
  }
  page.more = static_cast<int>(rows.size()) > limit;
  return page;
}

}  // namespace

absl::Status PgRegistryStore::InsertPilotCity(const v1::PilotCity& c) {
  const int64_t now_us = TimeUtil::TimestampToMicroseconds(c.create_time());
  tx_.StageWrite(absl::StrCat(
      "INSERT INTO pilot_cities (id, name, kind, division_code, version, create_time, update_time, "
      "contract_registration_days) VALUES (",
      tx_.quote(c.id()), ", ", tx_.quote(c.name()), ", ", static_cast<int>(c.kind()), ", ",
      tx_.quote(c.division_code()), ", ", c.version(), ", ", TimestampLiteral(now_us), ", ",
      TimestampLiteral(now_us), ", ", c.contract_registration_days(), ")"));
  return absl::OkStatus();
}

absl::StatusOr<v1::PilotCity> PgRegistryStore::GetPilotCity(const std::string& id) {
  pqxx::result rows =
      tx_.exec_params("SELECT " + kCityColumns + " FROM pilot_cities WHERE id = $1", id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("pilot city '", id, "' not found"));
  return CityFromRow(rows[0]);
}

Page<v1::PilotCity> PgRegistryStore::ListPilotCities(int64_t after, int limit) {
  pqxx::result rows = tx_.exec_params(
      "SELECT " + kCityColumns + " FROM pilot_cities WHERE ordinal > $1 ORDER BY ordinal LIMIT $2",
      after, limit + 1);
  return ToPage<v1::PilotCity>(rows, limit, 5, CityFromRow);
}

absl::Status PgRegistryStore::InsertOrganization(const v1::Organization& o) {
  const int64_t now_us = TimeUtil::TimestampToMicroseconds(o.create_time());
  tx_.StageRow(
      "INSERT INTO organizations (id, credit_code, name, kind, city_id, status, address, "
      "contact_email, description, version, create_time, update_time) VALUES ",
      "($1::uuid, $2, $3, $4::smallint, $5, $6::smallint, $7, $8, $9, 1, "
      "to_timestamp($10::double precision / 1000000), "
      "to_timestamp($10::double precision / 1000000))",
      "",
      {SqlText(o.id()), SqlText(o.credit_code()), SqlText(o.name()),
       SqlText(static_cast<int64_t>(o.kind())), SqlText(o.city_id()),
       SqlText(static_cast<int64_t>(o.status())), SqlText(o.address()), SqlText(o.contact_email()),
       SqlText(o.description()), SqlText(now_us)});
  return absl::OkStatus();
}

absl::StatusOr<LockedOrganization> PgRegistryStore::ReadOrganization(const std::string& id,
                                                                     bool lock) {
  pqxx::result rows =
      tx_.ExecPrepared(lock ? "registry_org_get_locked" : "registry_org_get",
                       "SELECT " + kOrgColumns + " FROM organizations WHERE id = $1::uuid" +
                           (lock ? " FOR UPDATE" : ""),
                       id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("organisation ", id, " not found"));
  return LockedOrganization{OrgFromRow(rows[0]), rows[0][15].as<bool>()};
}

absl::StatusOr<v1::Organization> PgRegistryStore::GetOrganization(const std::string& id) {
  TT_ASSIGN_OR_RETURN(LockedOrganization read, ReadOrganization(id, false));
  return std::move(read.organization);
}

absl::StatusOr<LockedOrganization> PgRegistryStore::LockOrganization(const std::string& id) {
  return ReadOrganization(id, true);
}

void PgRegistryStore::SaveOrganization(const v1::Organization& o) {
  const int64_t now_us = TimeUtil::TimestampToMicroseconds(o.update_time());
  const bool verified = o.status() == v1::ORGANIZATION_STATUS_VERIFIED;
  tx_.StageWrite(absl::StrCat(
      "UPDATE organizations SET name = ", tx_.quote(o.name()),
      ", status = ", static_cast<int>(o.status()), ", address = ", tx_.quote(o.address()),
      ", contact_email = ", tx_.quote(o.contact_email()), ", description = ",
      tx_.quote(o.description()), ", suspension_reason = ", tx_.quote(o.suspension_reason()),
      ", version = ", o.version(), ", update_time = ", TimestampLiteral(now_us),
      verified ? ", ever_verified = true, verify_time = COALESCE(verify_time, " +
                     TimestampLiteral(now_us) + ")"
               : "",
      " WHERE id = ", tx_.quote(o.id()), "::uuid"));
}

Page<v1::Organization> PgRegistryStore::ListOrganizations(const OrganizationFilter& f,
                                                          int64_t after, int limit) {
  pqxx::result rows = tx_.exec_params(
      "SELECT " + kOrgColumns +
          " FROM organizations WHERE ordinal > $1 "
          "AND ($2 = '' OR city_id = $2) AND ($3 = 0 OR kind = $3) AND ($4 = 0 OR status = $4) "
          "AND ($5 = '' OR credit_code = $5) ORDER BY ordinal LIMIT $6",
      after, f.city_id, static_cast<int>(f.kind), static_cast<int>(f.status), f.credit_code,
      limit + 1);
  return ToPage<v1::Organization>(rows, limit, 11, OrgFromRow);
}

absl::Status PgRegistryStore::InsertTechnologyManager(const v1::TechnologyManager& m) {
  const int64_t now_us = TimeUtil::TimestampToMicroseconds(m.create_time());
  tx_.exec_params(
      absl::StrCat(
          "INSERT INTO technology_managers (id, name, certificate_number, certifying_authority, "
          "certificate_expire_time, organization_id, city_id, status, version, create_time, "
          "update_time) VALUES ($1::uuid, $2, $3, $4, ",
          m.has_certificate_expire_time()
              ? TimestampLiteral(TimeUtil::TimestampToMicroseconds(m.certificate_expire_time()))
              : std::string("NULL"),
          ", $5::uuid, $6, $7, $8, ", TimestampLiteral(now_us), ", ", TimestampLiteral(now_us),
          ")"),
      m.id(), m.name(), m.certificate_number(), m.certifying_authority(), m.organization_id(),
      m.city_id(), static_cast<int>(m.status()), m.version());
  return absl::OkStatus();
}

absl::StatusOr<v1::TechnologyManager> PgRegistryStore::GetTechnologyManager(const std::string& id,
                                                                            bool lock) {
  pqxx::result rows = tx_.exec_params("SELECT " + kManagerColumns +
                                          " FROM technology_managers WHERE id = $1::uuid" +
                                          (lock ? " FOR UPDATE" : ""),
                                      id);
  if (rows.empty()) {
    return absl::NotFoundError(absl::StrCat("technology manager ", id, " not found"));
  }
  return ManagerFromRow(rows[0]);
}

void PgRegistryStore::SaveTechnologyManager(const v1::TechnologyManager& m) {
  tx_.exec_params(
      absl::StrCat("UPDATE technology_managers SET status = $2, revocation_reason = $3, "
                   "version = $4, update_time = ",
                   TimestampLiteral(TimeUtil::TimestampToMicroseconds(m.update_time())),
                   " WHERE id = $1::uuid"),
      m.id(), static_cast<int>(m.status()), m.revocation_reason(), m.version());
}

Page<v1::TechnologyManager> PgRegistryStore::ListTechnologyManagers(
    const TechnologyManagerFilter& f, int64_t after, int limit) {
  pqxx::result rows = tx_.exec_params(
      "SELECT " + kManagerColumns +
          " FROM technology_managers WHERE ordinal > $1 "
          "AND ($2 = '' OR organization_id::text = $2) AND ($3 = '' OR city_id = $3) "
          "AND ($4 = 0 OR status = $4) ORDER BY ordinal LIMIT $5",
      after, f.organization_id, f.city_id, static_cast<int>(f.status), limit + 1);
  return ToPage<v1::TechnologyManager>(rows, limit, 9, ManagerFromRow);
}

absl::StatusOr<v1::ApiClient> PgRegistryStore::InsertApiClient(const v1::ApiClient& c,
                                                               const std::string& secret_hash) {
  pqxx::result rows = tx_.exec_params(
      "INSERT INTO api_clients (id, name, role, city_id, secret_hash, status, version, "
      "organization_id) VALUES ($1, $2, $3, NULLIF($4, ''), $5, $6, $7, NULLIF($8, '')::uuid) "
      "ON CONFLICT (id) DO NOTHING RETURNING " +
          kClientColumns,
      c.id(), c.name(), static_cast<int>(c.role()), c.city_id(), secret_hash,
      static_cast<int>(c.status()), c.version(), c.organization_id());
  if (rows.empty()) return absl::AlreadyExistsError(absl::StrCat("api client ", c.id(), " exists"));
  return ClientFromRow(rows[0]);
}

absl::StatusOr<StoredApiClient> PgRegistryStore::ReadApiClient(const std::string& id, bool lock) {
  pqxx::result rows = tx_.ExecPrepared(
      lock ? "registry_client_get_locked" : "registry_client_get",
      "SELECT " + kClientColumns + " FROM api_clients WHERE id = $1" + (lock ? " FOR UPDATE" : ""),
      id);
  if (rows.empty()) return absl::NotFoundError(absl::StrCat("api client ", id, " not found"));
  return StoredApiClient{ClientFromRow(rows[0]), rows[0][9].as<std::string>()};
}

absl::StatusOr<StoredApiClient> PgRegistryStore::GetApiClient(const std::string& id) {
  return ReadApiClient(id, false);
}

absl::StatusOr<StoredApiClient> PgRegistryStore::LockApiClient(const std::string& id) {
  return ReadApiClient(id, true);
}

v1::ApiClient PgRegistryStore::SaveRevokedApiClient(const v1::ApiClient& c) {
  return ClientFromRow(tx_.exec_params1(
      "UPDATE api_clients SET status = $3, version = $2, revoke_time = now() WHERE id = $1 "
      "RETURNING " +
          kClientColumns,
      c.id(), c.version(), static_cast<int>(c.status())));
}

Page<v1::ApiClient> PgRegistryStore::ListApiClients(int64_t after, int limit) {
  pqxx::result rows = tx_.exec_params(
      "SELECT " + kClientColumns + " FROM api_clients WHERE ordinal > $1 ORDER BY ordinal LIMIT $2",
      after, limit + 1);
  return ToPage<v1::ApiClient>(rows, limit, 6, ClientFromRow);
}

}  // namespace techtrade::registry
