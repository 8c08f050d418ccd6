using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace TrustServer.Tuf.Keys;

/// <summary>PEM handling for certificate-wrapped keys, following Go's <c>encoding/pem</c> rules where they matter.</summary>
public static class Pem
{
    /// <summary>One PEM block: its label and decoded DER.</summary>
    public readonly record struct Block(string Label, byte[] Data);

    /// <summary>All PEM blocks in the text, in order; text between blocks is skipped (as <c>pem.Decode</c> does).</summary>
    public static List<Block> Blocks(ReadOnlySpan<byte> pemBytes)
    {
        var result = new List<Block>();
        var text = Encoding.UTF8.GetString(pemBytes).AsSpan();
        while (PemEncoding.TryFind(text, out var fields))
        {
            var data = new byte[fields.DecodedDataLength];
            if (!Convert.TryFromBase64Chars(text[fields.Base64Data], data, out var written))
            {
                break;
            }

            result.Add(new Block(text[fields.Label].ToString(), data.AsSpan(0, written).ToArray()));
            text = text[fields.Location.End..];
        }

        return result;
    }

    /// <summary>
    /// Parses a certificate bundle: every block must be a <c>CERTIFICATE</c> and parse; at least one.
    /// Returns null when that does not hold (Go's <c>LoadCertBundleFromPEM</c> errors).
    /// </summary>
    public static List<X509Certificate2>? CertificateBundle(ReadOnlySpan<byte> pemBytes)
    {
        var blocks = Blocks(pemBytes);
        if (blocks.Count == 0 || blocks.Any(b => b.Label != "CERTIFICATE"))
        {
            return null;
        }

        var certificates = new List<X509Certificate2>();
        foreach (var block in blocks)
        {
            var certificate = TryLoad(block.Data);
            if (certificate is null)
            {
                certificates.ForEach(c => c.Dispose());
                return null;
            }

            certificates.Add(certificate);
        }

        return certificates;
    }

    /// <summary>The first <c>CERTIFICATE</c> block that parses, or null (Go's <c>LoadCertFromPEM</c>).</summary>
    public static X509Certificate2? FirstCertificate(ReadOnlySpan<byte> pemBytes)
    {
        foreach (var block in Blocks(pemBytes))
        {
            if (block.Label == "CERTIFICATE")
            {
                return TryLoad(block.Data);
            }
        }

        return null;
    }

    /// <summary>Encodes certificates as Go's <c>pem.Encode</c> does: 64-column base64 lines, trailing newline.</summary>
    public static byte[] EncodeCertificates(IEnumerable<X509Certificate2> certificates)
    {
        var builder = new StringBuilder();
        foreach (var certificate in certificates)
        {
            builder.Append("-----BEGIN CERTIFICATE-----\n");
            var base64 = Convert.ToBase64String(certificate.RawData);
            for (var i = 0; i < base64.Length; i += 64)
            {
                builder.Append(base64, i, Math.Min(64, base64.Length - i)).Append('\n');
            }

            builder.Append("-----END CERTIFICATE-----\n");
        }

        return Encoding.ASCII.GetBytes(builder.ToString());
    }

    private static X509Certificate2? TryLoad(byte[] der)
    {
        try
        {
            return X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}
