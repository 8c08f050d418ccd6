using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrustServer.Testing;

/// <summary>Key algorithms <see cref="TestCertificates"/> can generate.</summary>
public enum TestKeyAlgorithm
{
    /// <summary>ECDSA on NIST P-256 (what notary uses for its keys and TLS fixtures).</summary>
    EcdsaP256,

    /// <summary>ECDSA on NIST P-384.</summary>
    EcdsaP384,

    /// <summary>ECDSA on NIST P-521.</summary>
    EcdsaP521,

    /// <summary>RSA with <see cref="TestCertificateOptions.RsaKeySize"/> bits, PKCS#1 v1.5 signatures.</summary>
    Rsa,
}

/// <summary>Well-known extended key usage OIDs, for <see cref="TestCertificateOptions.ExtendedKeyUsages"/>.</summary>
public static class ExtendedKeyUsageOids
{
    /// <summary>id-kp-serverAuth (TLS server).</summary>
    public const string ServerAuth = "1.3.6.1.5.5.7.3.1";

    /// <summary>id-kp-clientAuth (TLS client).</summary>
    public const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    /// <summary>id-kp-codeSigning.</summary>
    public const string CodeSigning = "1.3.6.1.5.5.7.3.3";
}

/// <summary>
/// What <see cref="TestCertificates.Create"/> should put into a certificate. Every property has a usable default:
/// an ECDSA P-256 end-entity certificate valid from one hour ago for one year, signed with SHA-256.
/// </summary>
public sealed class TestCertificateOptions
{
    /// <summary>Subject CN (for notary root certificates this must be the GUN).</summary>
    public string CommonName { get; init; } = "TrustServer test";

    /// <summary>Key algorithm of the new certificate's key pair.</summary>
    public TestKeyAlgorithm KeyAlgorithm { get; init; } = TestKeyAlgorithm.EcdsaP256;

    /// <summary>RSA key size in bits when <see cref="KeyAlgorithm"/> is <see cref="TestKeyAlgorithm.Rsa"/>.</summary>
    public int RsaKeySize { get; init; } = 2048;

    /// <summary>Start of validity; defaults to now minus one hour (tolerates small clock differences).</summary>
    public DateTimeOffset? NotBefore { get; init; }

    /// <summary>End of validity; defaults to now plus one year. May lie in the past for negative tests.</summary>
    public DateTimeOffset? NotAfter { get; init; }

    /// <summary>
    /// Hash of the issuer's signature. SHA-256 by default; SHA-1 is supported (ecdsa-with-SHA1 /
    /// sha1WithRSAEncryption) for negative tests, as are SHA-384 and SHA-512.
    /// </summary>
    public HashAlgorithmName SignatureHash { get; init; } = HashAlgorithmName.SHA256;

    /// <summary>Marks the certificate as a CA (basic constraints CA:TRUE, keyCertSign + cRLSign usages).</summary>
    public bool IsCertificateAuthority { get; init; }

    /// <summary>Path length constraint for a CA; none when null.</summary>
    public int? PathLengthConstraint { get; init; }

    /// <summary>DNS subject alternative names.</summary>
    public IReadOnlyList<string> DnsNames { get; init; } = [];

    /// <summary>IP address subject alternative names (e.g. <see cref="IPAddress.Loopback"/>).</summary>
    public IReadOnlyList<IPAddress> IpAddresses { get; init; } = [];

    /// <summary>
    /// Key usages (critical extension). When null: keyCertSign | cRLSign | digitalSignature for a CA;
    /// digitalSignature (plus keyEncipherment for RSA) otherwise.
    /// </summary>
    public X509KeyUsageFlags? KeyUsages { get; init; }

    /// <summary>Extended key usage OIDs (see <see cref="ExtendedKeyUsageOids"/>); no extension when empty.</summary>
    public IReadOnlyList<string> ExtendedKeyUsages { get; init; } = [];

    /// <summary>Serial number (big-endian, positive); 16 random bytes when null.</summary>
    public IReadOnlyList<byte>? SerialNumber { get; init; }
}
