using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Query;

/// <summary>What an admission controller asks of <see cref="TrustView.Verify"/>.</summary>
/// <param name="Name">The target name (tag).</param>
/// <param name="Digest">The digest the signers must agree on (<see cref="TargetDigest"/>); null = the digest of the entry <c>notary lookup</c> picks.</param>
/// <param name="RequiredRoles">Roles that must each sign that digest.</param>
/// <param name="Threshold">How many distinct trusted roles must sign that digest (at least 1).</param>
/// <param name="RootKeyIds">
/// Pinned root keys: when given, the current root must carry valid signatures of at least the root role's threshold of
/// distinct keys that the root lists for its root role and whose ID (as in root.json, or the canonical ID that
/// <c>notary key list</c> prints for a certificate key) is among these.
/// </param>
public sealed record TrustRequest(string Name, TargetDigest? Digest, IReadOnlyList<string> RequiredRoles, int Threshold, IReadOnlyList<string> RootKeyIds);

/// <summary>The answer of <see cref="TrustView.Verify"/>: the digest checked (null when nothing signs the name), the roles that sign it, and every reason it is not verified.</summary>
public sealed record TrustVerdict(bool Verified, TargetDigest? Digest, IReadOnlyList<string> SignedBy, IReadOnlyList<TrustProblem> Reasons);

/// <summary>An OCI digest: <c>sha256:&lt;64 hex&gt;</c> or <c>sha512:&lt;128 hex&gt;</c>, lowercase.</summary>
public sealed record TargetDigest(string Algorithm, byte[] Value)
{
    /// <summary>Parses an OCI digest string; null when it is not one of the two supported forms.</summary>
    public static TargetDigest? TryParse(string? text)
    {
        var colon = text?.IndexOf(':') ?? -1;
        if (colon < 0)
        {
            return null;
        }

        var algorithm = text![..colon];
        var hex = text[(colon + 1)..];
        var length = algorithm switch
        {
            HashAlgorithmNames.Sha256 => 64,
            HashAlgorithmNames.Sha512 => 128,
            _ => -1,
        };
        return hex.Length == length && hex.All(char.IsAsciiHexDigitLower) ? new TargetDigest(algorithm, Convert.FromHexString(hex)) : null;
    }

    /// <summary>The preferred digest of a target entry: sha256, else sha512; null when it has neither.</summary>
    public static TargetDigest? Of(FileMeta meta) =>
        meta.Hashes.TryGetValue(HashAlgorithmNames.Sha256, out var sha256) ? new(HashAlgorithmNames.Sha256, sha256)
        : meta.Hashes.TryGetValue(HashAlgorithmNames.Sha512, out var sha512) ? new(HashAlgorithmNames.Sha512, sha512)
        : null;

    /// <summary>Whether the entry's hash of this algorithm equals this digest.</summary>
    public bool Matches(FileMeta meta) => meta.Hashes.TryGetValue(Algorithm, out var hash) && hash.AsSpan().SequenceEqual(Value);

    /// <inheritdoc />
    public override string ToString() => $"{Algorithm}:{Convert.ToHexStringLower(Value)}";
}

/// <summary>
/// A repository's trusted targets as the notary client sees them at <see cref="ComputedAt"/>: the roles in walk order
/// (pre-order, delegations in their parent's order), which of them are excluded and why, and <see cref="Broken"/> when
/// the client would trust nothing (root, timestamp, snapshot or targets invalid or expired). The same view answers
/// every query until <see cref="RecheckAt"/> (the earliest expiry or certificate boundary ahead).
/// </summary>
public sealed class TrustView(
    string gun, DateTimeOffset computedAt, DateTimeOffset since, DateTimeOffset recheckAt, RootMetadata? root, TrustProblem? broken, IReadOnlyList<WalkedRole> roles)
{
    /// <summary>The repository.</summary>
    public string Gun => gun;

    /// <summary>When the walk ran.</summary>
    public DateTimeOffset ComputedAt => computedAt;

    /// <summary>The view holds for every instant strictly after this one …</summary>
    public DateTimeOffset Since => since;

    /// <summary>… up to and including this one (an expiry at this instant is not passed yet).</summary>
    public DateTimeOffset RecheckAt => recheckAt;

    /// <summary>The current root (null when it could not be read or validated).</summary>
    public RootMetadata? Root => root;

    /// <summary>Why nothing in the repository is trusted, or null.</summary>
    public TrustProblem? Broken => broken;

    /// <summary>Every targets role the walk reached, in walk order.</summary>
    public IReadOnlyList<WalkedRole> Roles => roles;

    /// <summary>Whether this view still answers for <paramref name="now"/>.</summary>
    public bool HoldsAt(DateTimeOffset now) => now > since && now <= recheckAt;

    /// <summary>
    /// Every role whose file lists <paramref name="name"/> within its paths, in walk order, excluded ones included (like
    /// the client's <c>GetAllTargetMetadataByName</c>, which would leave the excluded ones out).
    /// </summary>
    public IReadOnlyList<TargetSigner> SignersOf(string name) =>
        [.. roles.Where(r => r.Covers(name) && r.Targets.ContainsKey(name)).Select(r => new TargetSigner(r, r.Targets[name]))];

    /// <summary>
    /// The entry <c>notary lookup</c> (and <c>notary list</c>) picks: the first trusted role in walk order that lists the
    /// name within its paths; null when none does or the repository is broken. With <paramref name="within"/>, only that
    /// role and its delegations count (<c>--roles</c>).
    /// </summary>
    public TargetSigner? Lookup(string name, string? within = null) =>
        broken is not null ? null : SignersOf(name).FirstOrDefault(s => s.Role.Excluded is null && (within is null || s.Role.Name == within || s.Role.Name.StartsWith(within + "/", StringComparison.Ordinal)));

    /// <summary>Every name some reached role lists within its paths, in ordinal order.</summary>
    public IReadOnlyList<string> Names() =>
        [.. roles.SelectMany(r => r.Targets.Keys.Where(r.Covers)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>The admission decision for one name (README "For registries and admission controllers").</summary>
    public TrustVerdict Verify(TrustRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var reasons = new List<TrustProblem>();
        if (request.RootKeyIds.Count > 0 && PinnedRootProblem(request.RootKeyIds) is { } pinned)
        {
            reasons.Add(pinned);
        }

        if (broken is not null)
        {
            reasons.Add(broken);
            return new TrustVerdict(false, request.Digest, [], reasons);
        }

        var all = SignersOf(request.Name);
        var trusted = all.Where(s => s.Role.Excluded is null).ToList();
        var digest = request.Digest ?? (trusted.Count > 0 ? TargetDigest.Of(trusted[0].Meta) : null);
        var agreeing = digest is null ? [] : trusted.Where(s => digest.Matches(s.Meta)).Select(s => s.Role.Name).Distinct(StringComparer.Ordinal).ToList();

        // Excluded roles that list the name: why they do not count, where that decides the verdict (nothing trusted
        // agrees on the digest, or the role is required).
        foreach (var excluded in all.Where(s => s.Role.Excluded is not null && (agreeing.Count == 0 || request.RequiredRoles.Contains(s.Role.Name))))
        {
            reasons.Add(excluded.Role.Excluded!);
        }

        if (trusted.Count == 0)
        {
            reasons.Add(new TrustProblem(TrustReasonCodes.Unsigned, null, $"no trusted role signs {request.Name}"));
        }
        else if (agreeing.Count == 0)
        {
            reasons.Add(new TrustProblem(TrustReasonCodes.DigestMismatch, null,
                $"{request.Name} is signed by {string.Join(", ", trusted.Select(s => s.Role.Name).Distinct())}, none at {digest}"));
        }

        foreach (var required in request.RequiredRoles.Distinct(StringComparer.Ordinal))
        {
            if (!agreeing.Contains(required))
            {
                var excluded = all.FirstOrDefault(s => s.Role.Name == required && s.Role.Excluded is not null);
                var signs = trusted.Any(s => s.Role.Name == required);
                reasons.Add(new TrustProblem(TrustReasonCodes.RequiredSignerMissing, required, excluded is not null
                    ? $"required role {required} is not trusted ({excluded.Role.Excluded!.Code})"
                    : signs ? $"required role {required} signs {request.Name} at another digest" : $"required role {required} does not sign {request.Name}"));
            }
        }

        if (agreeing.Count < request.Threshold && agreeing.Count > 0)
        {
            reasons.Add(new TrustProblem(TrustReasonCodes.ThresholdNotMet, null,
                $"{agreeing.Count} trusted role(s) sign {request.Name} at {digest}, {request.Threshold} required"));
        }

        var verified = reasons.Count == 0 && agreeing.Count >= Math.Max(1, request.Threshold);
        return new TrustVerdict(verified, digest, agreeing, reasons);
    }

    // The current root must carry valid signatures of a threshold (the root role's own) of distinct pinned root keys.
    private TrustProblem? PinnedRootProblem(IReadOnlyList<string> pinnedIds)
    {
        if (root is null)
        {
            return new TrustProblem(TrustReasonCodes.RootNotPinned, RoleName.Root, "the current root could not be read");
        }

        var pinned = new HashSet<string>(pinnedIds, StringComparer.Ordinal);
        var rootRole = root.Roles[RoleName.Root];
        var keys = new Dictionary<string, TufPublicKey>(StringComparer.Ordinal);
        foreach (var keyId in rootRole.KeyIds)
        {
            if (root.Keys.TryGetValue(keyId, out var key) && (pinned.Contains(keyId) || pinned.Contains(CanonicalIdOrNull(key) ?? keyId)))
            {
                keys[keyId] = key;
            }
        }

        var problem = keys.Count == 0
            ? "no pinned key is a root key of the current root"
            : ThresholdVerifier.Verify(root.Envelope, new BaseRole(RoleName.Root, keys, rootRole.Threshold));
        return problem is null
            ? null
            : new TrustProblem(TrustReasonCodes.RootNotPinned, RoleName.Root, $"the current root (version {root.Version}) is not signed by {rootRole.Threshold} of the pinned root keys: {problem}");
    }

    private static string? CanonicalIdOrNull(TufPublicKey key)
    {
        try
        {
            return key.CanonicalId;
        }
        catch (Exception e) when (e is TufFormatException or System.Security.Cryptography.CryptographicException)
        {
            return null;
        }
    }
}
