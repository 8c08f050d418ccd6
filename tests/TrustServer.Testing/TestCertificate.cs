using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace TrustServer.Testing;

/// <summary>
/// A generated certificate with its private key and its issuer (null when self-signed), with PEM export helpers.
/// Create instances with <see cref="TestCertificates"/>.
/// </summary>
public sealed class TestCertificate : IDisposable
{
    internal TestCertificate(X509Certificate2 certificate, AsymmetricAlgorithm privateKey, TestCertificate? issuer)
    {
        Certificate = certificate;
        PrivateKey = privateKey;
        Issuer = issuer;
    }

    /// <summary>The certificate, with its private key attached.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The private key (<see cref="ECDsa"/> or <see cref="RSA"/>).</summary>
    public AsymmetricAlgorithm PrivateKey { get; }

    /// <summary>The certificate that signed this one; null for a self-signed certificate.</summary>
    public TestCertificate? Issuer { get; }

    /// <summary>The certificate as a PEM "CERTIFICATE" block.</summary>
    public string CertificatePem => Certificate.ExportCertificatePem() + "\n";

    /// <summary>The private key as a PKCS#8 PEM "PRIVATE KEY" block.</summary>
    public string PrivateKeyPem => PrivateKey.ExportPkcs8PrivateKeyPem() + "\n";

    /// <summary>
    /// The private key in the traditional format: SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY"
    /// (some Go and OpenSSL tooling expects these).
    /// </summary>
    public string TraditionalPrivateKeyPem => PrivateKey switch
    {
        ECDsa ecdsa => ecdsa.ExportECPrivateKeyPem() + "\n",
        RSA rsa => rsa.ExportRSAPrivateKeyPem() + "\n",
        _ => throw new NotSupportedException($"Unsupported key type {PrivateKey.GetType().Name}."),
    };

    /// <summary>
    /// This certificate followed by its issuers, as concatenated PEM blocks (what a TLS server presents).
    /// </summary>
    /// <param name="includeRoot">Whether to include the final, self-signed certificate of the chain.</param>
    /// <returns>The PEM text.</returns>
    public string GetChainPem(bool includeRoot = false)
    {
        var text = new StringBuilder(CertificatePem);
        for (var issuer = Issuer; issuer is not null; issuer = issuer.Issuer)
        {
            if (issuer.Issuer is null && !includeRoot)
            {
                break;
            }

            text.Append(issuer.CertificatePem);
        }

        return text.ToString();
    }

    /// <summary>Writes <see cref="CertificatePem"/> to a file (directories are created).</summary>
    /// <param name="path">The file to write.</param>
    /// <returns>The full path written.</returns>
    public string WriteCertificatePem(string path) => Write(path, CertificatePem, secret: false);

    /// <summary>Writes <see cref="PrivateKeyPem"/> (PKCS#8) to a file readable only by the owner.</summary>
    /// <param name="path">The file to write.</param>
    /// <returns>The full path written.</returns>
    public string WritePrivateKeyPem(string path) => Write(path, PrivateKeyPem, secret: true);

    /// <summary>Writes <c>&lt;baseName&gt;.crt</c> and <c>&lt;baseName&gt;.key</c> (PEM) into a directory.</summary>
    /// <param name="directory">Target directory (created when missing).</param>
    /// <param name="baseName">File name without extension.</param>
    /// <returns>The two full paths.</returns>
    public (string CertificatePath, string KeyPath) WriteFiles(string directory, string baseName) =>
        (WriteCertificatePem(Path.Combine(directory, baseName + ".crt")),
         WritePrivateKeyPem(Path.Combine(directory, baseName + ".key")));

    /// <summary>Disposes the certificate and key (not the issuer).</summary>
    public void Dispose()
    {
        Certificate.Dispose();
        PrivateKey.Dispose();
    }

    private static string Write(string path, string content, bool secret)
    {
        var fullPath = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(fullPath)!);
        File.WriteAllText(fullPath, content, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        if (secret && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(fullPath, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        return fullPath;
    }
}
