using System.Security.Cryptography.X509Certificates;

namespace TrustServer.Tuf.Keys;

/// <summary>
/// Certificate checks Notary applies to root and delegation certificates (spec validation.md §3.2; Go
/// <c>utils.ValidateCertificate</c>, <c>trustpinning.MatchCNToGun</c>).
/// </summary>
public static class CertificateRules
{
    private const string RsaKeyOid = "1.2.840.113549.1.1.1";
    private const string EcKeyOid = "1.2.840.10045.2.1";

    // SHA-1 (and weaker) certificate signature algorithms are refused. Go lists the three SHA-1 ones; MD2/MD5
    // are refused too because nothing legitimate uses them and Go would not produce such a root.
    private static readonly HashSet<string> WeakSignatureAlgorithms =
    [
        "1.2.840.113549.1.1.5", // sha1WithRSAEncryption
        "1.2.840.10040.4.3", // dsa-with-sha1
        "1.2.840.10045.4.1", // ecdsa-with-SHA1
        "1.3.14.3.2.29", // sha1WithRSASignature (OIW)
        "1.2.840.113549.1.1.4", // md5WithRSAEncryption
        "1.2.840.113549.1.1.2", // md2WithRSAEncryption
    ];

    /// <summary>Minimum RSA modulus size in bits.</summary>
    public const int MinRsaBits = 2048;

    /// <summary>
    /// Checks one certificate. Returns null when acceptable, otherwise the reason. With
    /// <paramref name="checkExpiry"/>, <c>now</c> must lie in [NotBefore − 1 day, NotAfter].
    /// </summary>
    public static string? Validate(X509Certificate2 certificate, bool checkExpiry, DateTimeOffset now)
    {
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        var commonName = CommonName(certificate);
        if (notBefore > notAfter)
        {
            return "certificate validity window is invalid";
        }

        if (WeakSignatureAlgorithms.Contains(certificate.SignatureAlgorithm.Value ?? string.Empty))
        {
            return $"certificate with CN {commonName} uses invalid SHA1 signature algorithm";
        }

        if (certificate.PublicKey.Oid.Value == RsaKeyOid)
        {
            using var rsa = certificate.GetRSAPublicKey();
            if (rsa is null)
            {
                return "unable to parse RSA public key";
            }

            if (rsa.KeySize < MinRsaBits)
            {
                return "RSA bit length is too short";
            }
        }

        if (checkExpiry && ExpiryBoundaries(certificate) is var (validFrom, validUntil) && (now < validFrom || now > validUntil))
        {
            return $"certificate with CN {commonName} is expired";
        }

        return null;
    }

    /// <summary>
    /// The instants at which <see cref="Validate"/>'s expiry check of <paramref name="certificate"/> may change its
    /// answer: NotBefore − 1 day and NotAfter. Between two of them the outcome is the same.
    /// </summary>
    public static (DateTimeOffset ValidFrom, DateTimeOffset ValidUntil) ExpiryBoundaries(X509Certificate2 certificate) =>
        (new DateTimeOffset(certificate.NotBefore.ToUniversalTime()).AddDays(-1), new DateTimeOffset(certificate.NotAfter.ToUniversalTime()));

    /// <summary>True when the certificate is a CA (basic constraints present with CA set, as Go's <c>IsCA</c>).</summary>
    public static bool IsCa(X509Certificate2 certificate) =>
        certificate.Extensions.OfType<X509BasicConstraintsExtension>().FirstOrDefault()?.CertificateAuthority == true;

    /// <summary>The subject common name, or an empty string.</summary>
    public static string CommonName(X509Certificate2 certificate) =>
        certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false) ?? string.Empty;

    /// <summary>
    /// CN must equal the GUN, or when it ends in <c>*</c> the GUN must start with the CN without its trailing
    /// <c>*</c> characters.
    /// </summary>
    public static bool MatchesGun(string commonName, string gun) =>
        commonName.EndsWith('*')
            ? gun.StartsWith(commonName.TrimEnd('*'), StringComparison.Ordinal)
            : commonName == gun;

    /// <summary>
    /// The TUF key for a certificate bundle (leaf first): <c>ecdsa-x509</c> or <c>rsa-x509</c> by the leaf's
    /// key algorithm, with the bundle re-encoded as standard PEM; null for other key algorithms.
    /// </summary>
    public static TufPublicKey? BundleToKey(X509Certificate2 leaf, IEnumerable<X509Certificate2> intermediates)
    {
        var keyType = leaf.PublicKey.Oid.Value switch
        {
            EcKeyOid => KeyType.EcdsaX509,
            RsaKeyOid => KeyType.RsaX509,
            _ => null,
        };
        return keyType is null ? null : new TufPublicKey(keyType, Pem.EncodeCertificates([leaf, .. intermediates]));
    }
}
