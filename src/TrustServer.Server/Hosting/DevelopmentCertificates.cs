using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using TrustServer.Server.Options;

namespace TrustServer.Server.Hosting;

/// <summary>The development CA and server certificate in use: the certificate Kestrel serves and the files clients need.</summary>
/// <param name="Certificate">The server certificate with its private key.</param>
/// <param name="CaFile">Absolute path of the CA certificate (PEM) clients trust: <c>notary --tlscacert</c>, <c>~/.docker/tls/…/ca.crt</c>.</param>
/// <param name="Names">The names the certificate covers (DNS names and IP addresses).</param>
/// <param name="Generated">What this start generated: nothing (reused), the server certificate, or the CA and the certificate.</param>
internal sealed record DevelopmentTlsMaterial(X509Certificate2 Certificate, string CaFile, IReadOnlyList<string> Names, string Generated);

/// <summary>
/// Generates and reuses the development CA and server certificate of <see cref="DevelopmentTlsOptions"/> with
/// <see cref="CertificateRequest"/> (ECDSA P-256): <c>ca.crt</c>/<c>ca.key</c> and <c>server.crt</c>/<c>server.key</c>
/// in a 0700 directory, keys 0600 (certificates 0644). The CA is regenerated when it expires within a day, the server certificate when it
/// expires within 30 days, when the names it must cover change, or when it no longer chains to the CA. A file that
/// exists but cannot be read stops the start (fail closed; the message says to delete the directory).
/// </summary>
internal static class DevelopmentCertificates
{
    public const string CaCertificateFile = "ca.crt";
    public const string CaKeyFile = "ca.key";
    public const string CertificateFile = "server.crt";
    public const string KeyFile = "server.key";

    private const UnixFileMode OwnerOnlyDirectory = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PublicFile = OwnerOnlyFile | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
    private static readonly TimeSpan CaLifetime = TimeSpan.FromDays(3650);
    private static readonly TimeSpan CertificateLifetime = TimeSpan.FromDays(397);
    private static readonly TimeSpan CaRenewal = TimeSpan.FromDays(1);
    private static readonly TimeSpan CertificateRenewal = TimeSpan.FromDays(30);

    /// <summary>The names a certificate must cover: the loopback names, the machine's host name, then <paramref name="extra"/>.</summary>
    public static IReadOnlyList<string> NamesFor(IEnumerable<string> extra)
    {
        var names = new List<string> { "localhost", "127.0.0.1", "::1" };
        var host = Dns.GetHostName().ToLowerInvariant();
        if (DevelopmentTlsOptions.IsHostName(host))
        {
            names.Add(host);
        }

        names.AddRange(extra.Select(n => IPAddress.TryParse(n, out var ip) ? ip.ToString() : n.ToLowerInvariant()));
        return [.. names.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Loads, or generates what is missing, expired or outdated, in <paramref name="directory"/>.</summary>
    public static DevelopmentTlsMaterial Ensure(string directory, IReadOnlyList<string> names, DateTimeOffset now)
    {
        directory = Path.GetFullPath(directory);
        PrepareDirectory(directory);
        var caFile = Path.Combine(directory, CaCertificateFile);
        var generated = "nothing";

        var ca = Load(directory, CaCertificateFile, CaKeyFile);
        if (ca is null || ca.NotAfter.ToUniversalTime() - CaRenewal < now.UtcDateTime)
        {
            ca?.Dispose();
            ca = CreateCa(now);
            Write(directory, CaCertificateFile, CaKeyFile, ca);
            generated = "CA and server certificate";
        }

        using (ca)
        {
            var certificate = Load(directory, CertificateFile, KeyFile);
            if (certificate is null || !Fits(certificate, ca, names, now))
            {
                certificate?.Dispose();
                certificate = CreateServerCertificate(ca, names, now);
                Write(directory, CertificateFile, KeyFile, certificate);
                generated = generated == "nothing" ? "server certificate" : generated;
            }

            return new DevelopmentTlsMaterial(certificate, caFile, names, generated);
        }
    }

    private static void PrepareDirectory(string directory)
    {
        try
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
                return;
            }

            Directory.CreateDirectory(directory, OwnerOnlyDirectory);
            File.SetUnixFileMode(directory, OwnerOnlyDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ServerConfigurationException($"DevelopmentTls: cannot create {directory}: {e.Message}", e);
        }
    }

    // Null when either file is missing; a file that exists but does not load is a configuration error.
    private static X509Certificate2? Load(string directory, string certificateName, string keyName)
    {
        var certificatePath = Path.Combine(directory, certificateName);
        var keyPath = Path.Combine(directory, keyName);
        if (!File.Exists(certificatePath) || !File.Exists(keyPath))
        {
            return null;
        }

        try
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(keyPath, OwnerOnlyFile);
            }

            return X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new ServerConfigurationException(
                $"DevelopmentTls: cannot load {certificatePath} with {keyPath} ({e.Message}); delete {directory} to generate a new CA and certificate", e);
        }
    }

    private static bool Fits(X509Certificate2 certificate, X509Certificate2 ca, IReadOnlyList<string> names, DateTimeOffset now)
    {
        if (certificate.NotAfter.ToUniversalTime() - CertificateRenewal < now.UtcDateTime || certificate.NotBefore.ToUniversalTime() > now.UtcDateTime)
        {
            return false;
        }

        var san = certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SingleOrDefault();
        if (san is null)
        {
            return false;
        }

        var covered = san.EnumerateDnsNames().Concat(san.EnumerateIPAddresses().Select(ip => ip.ToString())).ToHashSet(StringComparer.Ordinal);
        if (!covered.SetEquals(names))
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        return chain.Build(certificate);
    }

    private static X509Certificate2 CreateCa(DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN=TrustServer development CA ({Dns.GetHostName()})", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(now.AddMinutes(-5), now.Add(CaLifetime));
    }

    private static X509Certificate2 CreateServerCertificate(X509Certificate2 ca, IReadOnlyList<string> names, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + names[0], key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(san.Build());
        var notAfter = now.Add(CertificateLifetime);
        if (notAfter > ca.NotAfter)
        {
            notAfter = ca.NotAfter;
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var unsigned = request.Create(ca, now.AddMinutes(-5), notAfter, serial);
        return unsigned.CopyWithPrivateKey(key);
    }

    // Key first, each through a 0600 temporary file renamed into place: a crash leaves the old pair or a missing
    // certificate (regenerated next start), never a readable key.
    private static void Write(string directory, string certificateName, string keyName, X509Certificate2 certificate)
    {
        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the generated certificate has no ECDSA key");
        WriteFile(Path.Combine(directory, keyName), key.ExportPkcs8PrivateKeyPem(), OwnerOnlyFile);
        WriteFile(Path.Combine(directory, certificateName), certificate.ExportCertificatePem(), PublicFile);
    }

    private static void WriteFile(string path, string content, UnixFileMode mode)
    {
        var temporary = path + ".tmp";
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = mode;
            }

            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(content);
                writer.Write('\n');
            }

            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, mode);
            }

            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ServerConfigurationException($"DevelopmentTls: cannot write {path}: {e.Message}", e);
        }
    }
}
