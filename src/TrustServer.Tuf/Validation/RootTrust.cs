using System.Security.Cryptography.X509Certificates;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Validation;

/// <summary>
/// Root acceptance with trust on first use, as notary-server runs it (spec validation.md §3.2, Go
/// <c>trustpinning.ValidateRoot</c> with an empty pinning configuration).
/// </summary>
internal static class RootTrust
{
    /// <summary>
    /// Validates <paramref name="file"/> as the root of <paramref name="gun"/>; with a previous root, also the
    /// rotation rule. Returns the parsed root or throws <see cref="TufFormatException"/> with Notary's message.
    /// </summary>
    public static RootMetadata Validate(SignedEnvelope file, RootMetadata? previous, string gun, DateTimeOffset now) =>
        Validate(file, previous, gun, now, out _);

    /// <summary>
    /// <see cref="Validate(SignedEnvelope, RootMetadata?, string, DateTimeOffset)"/>, also returning the open interval
    /// around <paramref name="now"/> in which no certificate whose expiry it checked crosses a boundary: validating
    /// the same file at any time strictly inside it gives the same result.
    /// </summary>
    public static RootMetadata Validate(
        SignedEnvelope file, RootMetadata? previous, string gun, DateTimeOffset now, out (DateTimeOffset After, DateTimeOffset Before) sameOutcome)
    {
        var root = RootMetadata.FromEnvelope(file);
        var current = CollectCertificates(root, gun, checkExpiry: true, now);
        sameOutcome = SameOutcomeInterval(current.Owned, now);
        try
        {
            if (current.Leaves.Count == 0)
            {
                throw ValidationFailed("unable to retrieve valid leaf certificates");
            }

            if (previous is not null)
            {
                var trusted = CollectCertificates(previous, gun, checkExpiry: false, now);
                try
                {
                    if (trusted.Leaves.Count == 0)
                    {
                        throw ValidationFailed("could not retrieve trusted certs from previous root role data");
                    }

                    // The previous root's intermediates are used as they are, without validity checks (as in Go).
                    var trustedRole = new BaseRole(RoleName.Root, ToKeys(trusted.Leaves, trusted.AllIntermediates), previous.Roles[RoleName.Root].Threshold);
                    if (ThresholdVerifier.Verify(file, trustedRole) is not null)
                    {
                        throw new TufFormatException("could not rotate trust to a new trusted root: failed to validate data with current trusted certificates");
                    }
                }
                finally
                {
                    trusted.Dispose();
                }
            }

            var selfRole = new BaseRole(RoleName.Root, ToKeys(current.Leaves, current.ValidIntermediates), root.Roles[RoleName.Root].Threshold);
            if (ThresholdVerifier.Verify(file, selfRole) is not null)
            {
                throw ValidationFailed("failed to validate integrity of roots");
            }

            return root;
        }
        finally
        {
            current.Dispose();
        }
    }

    // The nearest expiry boundaries of the certificates at or before and at or after now. A boundary equal to now
    // closes the interval on that side, so nothing strictly inside it is at a boundary.
    private static (DateTimeOffset After, DateTimeOffset Before) SameOutcomeInterval(IEnumerable<X509Certificate2> certificates, DateTimeOffset now)
    {
        var (after, before) = (DateTimeOffset.MinValue, DateTimeOffset.MaxValue);
        foreach (var certificate in certificates)
        {
            var (validFrom, validUntil) = CertificateRules.ExpiryBoundaries(certificate);
            foreach (var boundary in (ReadOnlySpan<DateTimeOffset>)[validFrom, validUntil])
            {
                if (boundary <= now && boundary > after)
                {
                    after = boundary;
                }

                if (boundary >= now && boundary < before)
                {
                    before = boundary;
                }
            }
        }

        return (after, before);
    }

    private static TufFormatException ValidationFailed(string reason) =>
        new($"could not validate the path to a trusted root: {reason}");

    // Keys are rebuilt from leaf + intermediates and re-identified, as Go's CertsToKeys does.
    private static Dictionary<string, TufPublicKey> ToKeys(
        Dictionary<string, X509Certificate2> leaves, Dictionary<string, List<X509Certificate2>> intermediates)
    {
        var keys = new Dictionary<string, TufPublicKey>(StringComparer.Ordinal);
        foreach (var (id, leaf) in leaves)
        {
            var key = CertificateRules.BundleToKey(leaf, intermediates.GetValueOrDefault(id) ?? []);
            if (key is not null)
            {
                keys[key.Id] = key;
            }
        }

        return keys;
    }

    /// <summary>
    /// The root role's certificate keys: each key of <c>roles.root</c> must be a PEM bundle of certificates with
    /// exactly one non-CA certificate, first. Leaves must match the GUN and pass the certificate rules.
    /// </summary>
    private static CertificateSet CollectCertificates(RootMetadata root, string gun, bool checkExpiry, DateTimeOffset now)
    {
        var set = new CertificateSet();
        foreach (var keyId in root.Roles[RoleName.Root].KeyIds)
        {
            if (!root.Keys.TryGetValue(keyId, out var key))
            {
                continue;
            }

            var bundle = Pem.CertificateBundle(key.Public);
            if (bundle is null)
            {
                continue;
            }

            set.Owned.AddRange(bundle);
            var leaves = bundle.Where(c => !CertificateRules.IsCa(c)).ToList();
            if (leaves.Count != 1 || CertificateRules.IsCa(bundle[0]))
            {
                continue;
            }

            var leaf = leaves[0];
            var intermediates = bundle.Where(CertificateRules.IsCa).ToList();
            set.AllIntermediates[key.Id] = intermediates;
            set.ValidIntermediates[key.Id] = intermediates.Where(c => CertificateRules.Validate(c, checkExpiry: true, now) is null).ToList();
            if (CertificateRules.MatchesGun(CertificateRules.CommonName(leaf), gun) && CertificateRules.Validate(leaf, checkExpiry, now) is null)
            {
                set.Leaves[key.Id] = leaf;
            }
        }

        return set;
    }

    private sealed class CertificateSet : IDisposable
    {
        public List<X509Certificate2> Owned { get; } = [];

        public Dictionary<string, X509Certificate2> Leaves { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, List<X509Certificate2>> AllIntermediates { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, List<X509Certificate2>> ValidIntermediates { get; } = new(StringComparer.Ordinal);

        public void Dispose() => Owned.ForEach(c => c.Dispose());
    }
}
