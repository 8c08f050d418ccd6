using System.Text.Json.Nodes;
using TrustServer.Tuf.Json;
using TrustServer.Tuf.Query;

namespace TrustServer.Server.Trust;

/// <summary>Why something is not trusted: a machine-readable code (<c>unsigned</c>, <c>digest-mismatch</c>, <c>role-expired</c>, <c>role-invalid</c>, <c>required-signer-missing</c>, <c>threshold-not-met</c>, <c>root-not-pinned</c>), the role it concerns and a message.</summary>
/// <param name="Code">The reason code.</param>
/// <param name="Role">The role it concerns, when one does.</param>
/// <param name="Message">What failed, for people.</param>
public sealed record TrustReason(string Code, string? Role, string Message)
{
    internal static TrustReason? Of(TrustProblem? problem) => problem is null ? null : new(problem.Code, problem.Role, problem.Message);
}

/// <summary>One role's entry for a target name: the digests and length it signs, custom data, and the role's keys, threshold, paths and expiry.</summary>
/// <param name="Role">The role (<c>targets</c> or a delegation).</param>
/// <param name="Digests">Hex digests by algorithm (<c>sha256</c>, <c>sha512</c>).</param>
/// <param name="Length">The target's length in bytes.</param>
/// <param name="Custom">The entry's custom data, verbatim; absent when none.</param>
/// <param name="KeyIds">The key IDs that may sign the role (as its parent delegates them; the root's for <c>targets</c>).</param>
/// <param name="Threshold">How many of those keys must sign the role's file.</param>
/// <param name="Paths">The path prefixes the role may sign, restricted by its ancestors' (null for <c>targets</c>: every path).</param>
/// <param name="Version">The version of the role's current file.</param>
/// <param name="Expires">The role file's <c>expires</c>.</param>
/// <param name="Trusted">Whether the role's file verified (signatures, threshold, expiry) so the entry counts.</param>
/// <param name="Excluded">Why the entry does not count, when it does not.</param>
public sealed record TargetEntry(
    string Role,
    IReadOnlyDictionary<string, string> Digests,
    long Length,
    JsonNode? Custom,
    IReadOnlyList<string> KeyIds,
    long Threshold,
    IReadOnlyList<string>? Paths,
    long Version,
    DateTimeOffset Expires,
    bool Trusted,
    TrustReason? Excluded)
{
    internal static TargetEntry Of(TargetSigner signer) => new(
        signer.Role.Name,
        signer.Meta.Hashes.Where(h => h.Key is Tuf.Metadata.HashAlgorithmNames.Sha256 or Tuf.Metadata.HashAlgorithmNames.Sha512)
            .OrderBy(h => h.Key, StringComparer.Ordinal).ToDictionary(h => h.Key, h => Convert.ToHexStringLower(h.Value), StringComparer.Ordinal),
        signer.Meta.Length,
        signer.Meta.Custom is { } custom ? JsonNode.Parse(CanonicalJson.Encode(custom)) : null,
        signer.Role.KeyIds,
        signer.Role.Threshold,
        signer.Role.Paths,
        signer.Role.Version,
        signer.Role.Expires.Instant,
        signer.Role.Excluded is null,
        TrustReason.Of(signer.Role.Excluded));
}

/// <summary>Every role that signs one target name, and the entry <c>notary lookup</c> picks.</summary>
/// <param name="Gun">The repository.</param>
/// <param name="Name">The target name.</param>
/// <param name="Lookup">The entry the notary client's <c>lookup</c> picks (first trusted role in walk order); null when none, e.g. when the repository is untrusted.</param>
/// <param name="Signers">Every role whose file lists the name within its paths, in the client's walk order (pre-order, delegations in their parent's order), untrusted ones included with the reason.</param>
/// <param name="Untrusted">Why the client trusts nothing of the repository (root, timestamp, snapshot or targets expired or invalid); null normally.</param>
public sealed record TargetSigners(string Gun, string Name, TargetEntry? Lookup, IReadOnlyList<TargetEntry> Signers, TrustReason? Untrusted);

/// <summary>One signed name in a page of <see cref="SignedTargetsPage"/>.</summary>
/// <param name="Name">The target name.</param>
/// <param name="Lookup">The entry <c>notary lookup</c> (and <c>notary list</c>) picks; null when no trusted role signs it.</param>
/// <param name="Signers">Every role that lists it, in walk order.</param>
public sealed record SignedTarget(string Name, TargetEntry? Lookup, IReadOnlyList<TargetEntry> Signers);

/// <summary>A page of the signed names of a repository, in ordinal order.</summary>
/// <param name="Gun">The repository.</param>
/// <param name="Items">The names of this page.</param>
/// <param name="Page">The page (from 1).</param>
/// <param name="PageSize">Names per page.</param>
/// <param name="Total">How many names there are.</param>
/// <param name="Untrusted">Why the client trusts nothing of the repository; null normally.</param>
public sealed record SignedTargetsPage(string Gun, IReadOnlyList<SignedTarget> Items, int Page, int PageSize, int Total, TrustReason? Untrusted);

/// <summary>An admission check: is <c>name</c> of <c>gun</c> signed as the policy demands.</summary>
/// <param name="Gun">The repository (required).</param>
/// <param name="Name">The target name, e.g. a tag (required).</param>
/// <param name="Digest">The OCI digest the image must have, <c>sha256:&lt;64 hex&gt;</c> or <c>sha512:&lt;128 hex&gt;</c> (lowercase); when absent, the digest of the entry <c>notary lookup</c> picks is checked.</param>
/// <param name="RequiredRoles">Roles that must each sign that digest, e.g. <c>targets/releases</c>.</param>
/// <param name="Threshold">How many distinct trusted roles must sign that digest (1–100, default 1).</param>
/// <param name="RootKeyIds">Pinned root key IDs: the current root must carry valid signatures of at least the root role's threshold of distinct root keys among these (key IDs as root.json lists them, or the canonical IDs <c>notary key list</c> prints).</param>
public sealed record VerifyRequest(string? Gun, string? Name, string? Digest, IReadOnlyList<string>? RequiredRoles, int? Threshold, IReadOnlyList<string>? RootKeyIds);

/// <summary>The admission decision.</summary>
/// <param name="Verified">True only when no reason is listed.</param>
/// <param name="Digest">The digest checked (the requested one, or the one <c>notary lookup</c> picks); null when nothing signs the name.</param>
/// <param name="SignedBy">The distinct trusted roles that sign the name at that digest, in walk order.</param>
/// <param name="Reasons">Everything that failed.</param>
public sealed record VerifyResponse(bool Verified, string? Digest, IReadOnlyList<string> SignedBy, IReadOnlyList<TrustReason> Reasons);
