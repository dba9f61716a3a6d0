#include "services/listings/domain/rules.h"

#include <algorithm>
#include <array>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/field_rules.h"
#include "common/status.h"
#include "common/validation.h"
#include "google/protobuf/util/time_util.h"

namespace techtrade::listings {
namespace {

using google::protobuf::util::TimeUtil;

constexpr std::array<const char*, kFieldCount> kFields = {"artificial-intelligence",
                                                          "integrated-circuits",
                                                          "biomedicine",
                                                          "medical-devices",
                                                          "new-materials",
                                                          "new-energy",
                                                          "energy-storage",
                                                          "intelligent-manufacturing",
                                                          "robotics",
                                                          "aerospace",
                                                          "marine-engineering",
                                                          "agriculture",
                                                          "environmental-protection",
                                                          "electronic-information",
                                                          "new-energy-vehicles",
                                                          "chemicals",
                                                          "construction",
                                                          "textiles",
                                                          "food",
                                                          "metallurgy"};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

absl::Status CheckIpcCodes(const std::string& field,
                           const google::protobuf::RepeatedPtrField<std::string>& codes) {
  for (int i = 0; i < codes.size(); ++i) {
    if (!ParseIpc(codes[i]).ok()) {
      return FieldError(
          absl::StrCat(field, "[", i, "]"),
          absl::StrCat("'", codes[i], "' is not an IPC code like \"G06N 3/08\" or \"G06N\""));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckFields(const std::string& field,
                         const google::protobuf::RepeatedPtrField<std::string>& fields) {
  for (int i = 0; i < fields.size(); ++i) {
    if (!FieldIndex(fields[i]).has_value()) {
      return FieldError(absl::StrCat(field, "[", i, "]"),
                        absl::StrCat("unknown industry field '", fields[i],
                                     "' (the vocabulary is in docs/listings.md)"));
    }
  }
  return absl::OkStatus();
}

// Patent and application numbers: a two-letter office code then digits, with the dots and kind
// codes offices use, e.g. CN114512345A, CN202110123456.7, US10123456B2.
absl::Status CheckIpAsset(const std::string& field, const std::string& asset) {
  bool ok = asset.size() >= 6 && asset.size() <= 24 && absl::ascii_isupper(asset[0]) &&
            absl::ascii_isupper(asset[1]) && IsDigit(asset[2]) &&
            std::all_of(asset.begin() + 2, asset.end(),
                        [](char c) { return IsDigit(c) || absl::ascii_isupper(c) || c == '.'; });
  if (!ok) {
    return FieldError(field,
                      absl::StrCat("'", asset, "' is not a patent number like CN114512345A"));
  }
  return absl::OkStatus();
}

template <class T>
void Dedupe(T* values) {
  std::vector<typename T::value_type> seen;
  T out;
  for (const auto& v : *values) {
    if (std::find(seen.begin(), seen.end(), v) != seen.end()) continue;
    seen.push_back(v);
    out.Add(typename T::value_type(v));
  }
  values->Swap(&out);
}

void CanonicalIpc(google::protobuf::RepeatedPtrField<std::string>* codes) {
  for (std::string& code : *codes) {
    if (absl::StatusOr<IpcCode> parsed = ParseIpc(code); parsed.ok()) code = parsed->ToString();
  }
  Dedupe(codes);
}

}  // namespace

std::string IpcCode::ToString() const {
  std::string out = absl::StrCat(std::string(1, section), ipc_class < 10 ? "0" : "", ipc_class,
                                 std::string(1, subclass));
  if (has_group()) absl::StrAppend(&out, " ", main_group, "/", subgroup_digits);
  return out;
}

absl::StatusOr<IpcCode> ParseIpc(absl::string_view text) {
  std::string s;
  for (char c : text) {
    if (!absl::ascii_isspace(static_cast<unsigned char>(c))) s.push_back(absl::ascii_toupper(c));
  }
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat("malformed IPC code '", text, "'"));
  };
  if (s.size() < 4 || s[0] < 'A' || s[0] > 'H' || !IsDigit(s[1]) || !IsDigit(s[2]) ||
      !absl::ascii_isupper(s[3])) {
    return bad();
  }
  IpcCode code;
  code.section = s[0];
  code.ipc_class = static_cast<uint8_t>((s[1] - '0') * 10 + (s[2] - '0'));
  code.subclass = s[3];
  if (s.size() == 4) return code;
  size_t slash = s.find('/', 4);
  if (slash == std::string::npos) return bad();
  std::string group = s.substr(4, slash - 4);
  std::string sub = s.substr(slash + 1);
  if (group.empty() || group.size() > 4 || sub.size() < 2 || sub.size() > 6 ||
      !std::all_of(group.begin(), group.end(), IsDigit) ||
      !std::all_of(sub.begin(), sub.end(), IsDigit)) {
    return bad();
  }
  code.main_group = static_cast<uint16_t>(std::stoi(group));
  if (code.main_group == 0) return bad();
  code.subgroup = static_cast<uint32_t>(std::stoul(sub));
  code.subgroup_digits = sub;
  return code;
}

double IpcCloseness(const IpcCode& a, const IpcCode& b) {
  if (a.section != b.section) return 0;
  if (a.ipc_class != b.ipc_class) return 0.25;
  if (a.subclass != b.subclass) return 0.5;
  if (a.has_group() && b.has_group() && a.main_group == b.main_group) return 1;
  return 0.75;
}

std::string IpcClosenessReason(const IpcCode& a, const IpcCode& b) {
  double c = IpcCloseness(a, b);
  std::string subclass = IpcCode{a.section, a.ipc_class, a.subclass, 0, 0, ""}.ToString();
  if (c == 1) return absl::StrCat("same IPC main group ", subclass, " ", a.main_group);
  if (c == 0.75) return absl::StrCat("same IPC subclass ", subclass);
  if (c == 0.5) return absl::StrCat("same IPC class ", subclass.substr(0, 3));
  if (c == 0.25) return absl::StrCat("same IPC section ", subclass.substr(0, 1));
  return "no IPC overlap";
}

const char* FieldName(int index) { return kFields[index]; }

std::optional<int> FieldIndex(absl::string_view name) {
  for (int i = 0; i < kFieldCount; ++i) {
    if (name == kFields[i]) return i;
  }
  return std::nullopt;
}

// The draft validators check what the draft's fields declare in the proto (lengths, counts,
// ranges, enums, money; the one source of those) and then the vocabulary and relations the proto
// cannot say.
absl::Status ValidateOfferDraft(const v1::OfferDraft& d, absl::string_view prefix) {
  const std::string p(prefix);
  TT_RETURN_IF_ERROR(CheckFieldRules(d, prefix));
  TT_RETURN_IF_ERROR(CheckIpcCodes(p + "ipc_codes", d.ipc_codes()));
  TT_RETURN_IF_ERROR(CheckFields(p + "fields", d.fields()));
  for (int i = 0; i < d.ip_assets_size(); ++i) {
    TT_RETURN_IF_ERROR(CheckIpAsset(absl::StrCat(p, "ip_assets[", i, "]"), d.ip_assets(i)));
  }
  if (!d.has_asking_price() && !d.negotiable()) {
    return FieldError(p + "asking_price", "required unless the offer is negotiable");
  }
  return absl::OkStatus();
}

absl::Status ValidateDemandDraft(const v1::DemandDraft& d, absl::string_view prefix,
                                 absl::Time now) {
  const std::string p(prefix);
  TT_RETURN_IF_ERROR(CheckFieldRules(d, prefix));
  TT_RETURN_IF_ERROR(CheckIpcCodes(p + "ipc_codes", d.ipc_codes()));
  TT_RETURN_IF_ERROR(CheckFields(p + "fields", d.fields()));
  if (d.has_budget_min() && d.has_budget_max()) {
    if (d.budget_min().currency() != d.budget_max().currency()) {
      return FieldError(p + "budget_max.currency", "must be the currency of budget_min");
    }
    if (d.budget_min().amount_minor() > d.budget_max().amount_minor()) {
      return FieldError(p + "budget_min", "greater than budget_max");
    }
  }
  const int64_t now_us = absl::ToUnixMicros(now);
  if (d.has_deadline() && TimeUtil::TimestampToMicroseconds(d.deadline()) <= now_us) {
    return FieldError(p + "deadline", "must lie in the future");
  }
  if (d.has_challenge()) {
    if (TimeUtil::TimestampToMicroseconds(d.challenge().close_time()) <= now_us) {
      return FieldError(p + "challenge.close_time", "required, and must lie in the future");
    }
    if (d.has_deadline() && d.challenge().close_time() > d.deadline()) {
      return FieldError(p + "challenge.close_time", "after the demand's deadline");
    }
  }
  return absl::OkStatus();
}

v1::OfferDraft NormalizeOfferDraft(v1::OfferDraft draft) {
  CanonicalIpc(draft.mutable_ipc_codes());
  Dedupe(draft.mutable_fields());
  Dedupe(draft.mutable_ip_assets());
  Dedupe(draft.mutable_transfer_modes());
  return draft;
}

v1::DemandDraft NormalizeDemandDraft(v1::DemandDraft draft) {
  CanonicalIpc(draft.mutable_ipc_codes());
  Dedupe(draft.mutable_fields());
  Dedupe(draft.mutable_transfer_modes());
  return draft;
}

absl::StatusOr<v1::OfferStatus> NextOfferStatus(v1::OfferStatus current, ListingAction action) {
  using S = v1::OfferStatus;
  auto refuse = [&](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat("offer is ", v1::OfferStatus_Name(current), ": ", why));
  };
  switch (action) {
    case ListingAction::kUpdate:
      if (current == S::OFFER_STATUS_UNDER_NEGOTIATION || current == S::OFFER_STATUS_TRANSFERRED) {
        return refuse("its terms cannot change while a deal is on or after the transfer");
      }
      return current;
    case ListingAction::kPublish:
      if (current == S::OFFER_STATUS_DRAFT || current == S::OFFER_STATUS_WITHDRAWN ||
          current == S::OFFER_STATUS_EXPIRED) {
        return S::OFFER_STATUS_PUBLISHED;
      }
      return refuse("only a draft, withdrawn or expired offer can be published");
    case ListingAction::kWithdraw:
      if (current == S::OFFER_STATUS_DRAFT || current == S::OFFER_STATUS_PUBLISHED) {
        return S::OFFER_STATUS_WITHDRAWN;
      }
      return refuse("only a draft or published offer can be withdrawn");
    case ListingAction::kStartNegotiation:
      if (current == S::OFFER_STATUS_PUBLISHED) return S::OFFER_STATUS_UNDER_NEGOTIATION;
      return refuse("only a published offer can go into negotiation");
    case ListingAction::kEndNegotiation:
      if (current == S::OFFER_STATUS_UNDER_NEGOTIATION) return S::OFFER_STATUS_PUBLISHED;
      return refuse("only an offer under negotiation can end it");
    case ListingAction::kTransfer:
      if (current == S::OFFER_STATUS_PUBLISHED || current == S::OFFER_STATUS_UNDER_NEGOTIATION) {
        return S::OFFER_STATUS_TRANSFERRED;
      }
      return refuse("only a published offer or one under negotiation can be transferred");
    case ListingAction::kExpire:
      if (current == S::OFFER_STATUS_PUBLISHED) return S::OFFER_STATUS_EXPIRED;
      return refuse("only a published offer can expire");
  }
  return refuse("unknown action");
}

absl::StatusOr<v1::DemandStatus> NextDemandStatus(v1::DemandStatus current, ListingAction action) {
  using S = v1::DemandStatus;
  auto refuse = [&](absl::string_view why) {
    return absl::FailedPreconditionError(
        absl::StrCat("demand is ", v1::DemandStatus_Name(current), ": ", why));
  };
  switch (action) {
    case ListingAction::kUpdate:
      if (current == S::DEMAND_STATUS_FULFILLED) return refuse("a fulfilled demand is final");
      return current;
    case ListingAction::kPublish:
      if (current == S::DEMAND_STATUS_DRAFT || current == S::DEMAND_STATUS_WITHDRAWN ||
          current == S::DEMAND_STATUS_EXPIRED) {
        return S::DEMAND_STATUS_PUBLISHED;
      }
      return refuse("only a draft, withdrawn or expired demand can be published");
    case ListingAction::kWithdraw:
      if (current == S::DEMAND_STATUS_DRAFT || current == S::DEMAND_STATUS_PUBLISHED) {
        return S::DEMAND_STATUS_WITHDRAWN;
      }
      return refuse("only a draft or published demand can be withdrawn");
    case ListingAction::kTransfer:
      // A deal opened before the deadline may complete after it: the need was met all the same.
      if (current == S::DEMAND_STATUS_PUBLISHED || current == S::DEMAND_STATUS_EXPIRED) {
        return S::DEMAND_STATUS_FULFILLED;
      }
      return refuse("only a published or expired demand can be fulfilled");
    case ListingAction::kExpire:
      if (current == S::DEMAND_STATUS_PUBLISHED) return S::DEMAND_STATUS_EXPIRED;
      return refuse("only a published demand can expire");
    case ListingAction::kStartNegotiation:
    case ListingAction::kEndNegotiation:
      return refuse("demands are not negotiated, deals are");
  }
  return refuse("unknown action");
}

}  // namespace techtrade::listings
