using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TrustServer.Signing.Keys;

namespace TrustServer.Signing.Encryption;

/// <summary>
/// The JWE compact serialization notary-signer uses for private keys at rest (spec signer.md §5, RFC 7516):
/// key management <c>PBES2-HS256+A128KW</c> (RFC 7518 §4.8) and content encryption <c>A256GCM</c> (§5.3).
/// Only this one combination is produced or accepted.
/// </summary>
internal static class Jwe
{
    /// <summary>The <c>alg</c> value (and the <c>keywrap_alg</c> column).</summary>
    public const string KeyWrapAlgorithm = "PBES2-HS256+A128KW";

    /// <summary>The <c>enc</c> value (and the <c>encryption_alg</c> column).</summary>
    public const string EncryptionAlgorithm = "A256GCM";

    /// <summary>PBKDF2 iterations notary-signer (jose2go) writes.</summary>
    public const int DefaultIterations = 8192;

    /// <summary>Upper bound on <c>p2c</c> when decrypting, so a crafted row cannot make us spin (RFC 7518 §8.8).</summary>
    public const int MaxIterations = 1_000_000;

    private const int SaltLength = 12;
    private const int KekLength = 16;
    private const int CekLength = 32;
    private const int IvLength = 12;
    private const int TagLength = 16;

    /// <summary>Encrypts <paramref name="plaintext"/> under <paramref name="passphrase"/>; returns the compact string.</summary>
    public static string Encrypt(ReadOnlySpan<byte> plaintext, string passphrase, int iterations = DefaultIterations)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        var p2s = RandomNumberGenerator.GetBytes(SaltLength);

        // Members in sorted order, as Go marshals a map: byte-for-byte what notary-signer writes.
        var header = string.Create(
            CultureInfo.InvariantCulture,
            $"{{\"alg\":\"{KeyWrapAlgorithm}\",\"enc\":\"{EncryptionAlgorithm}\",\"p2c\":{iterations},\"p2s\":\"{Base64Url.EncodeToString(p2s)}\"}}");
        var encodedHeader = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(header));

        var kek = DeriveKek(passphrase, p2s, iterations);
        var cek = RandomNumberGenerator.GetBytes(CekLength);
        var iv = RandomNumberGenerator.GetBytes(IvLength);
        var ciphertext = new byte[plaintext.Length];
        var tag = new byte[TagLength];
        try
        {
            var wrapped = AesKeyWrap.Wrap(kek, cek);
            using (var gcm = new AesGcm(cek, TagLength))
            {
                gcm.Encrypt(iv, plaintext, ciphertext, tag, Encoding.ASCII.GetBytes(encodedHeader));
            }

            return string.Join(
                '.',
                encodedHeader,
                Base64Url.EncodeToString(wrapped),
                Base64Url.EncodeToString(iv),
                Base64Url.EncodeToString(ciphertext),
                Base64Url.EncodeToString(tag));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kek);
            CryptographicOperations.ZeroMemory(cek);
        }
    }

    /// <summary>
    /// Decrypts a compact JWE. Throws <see cref="KeyDecryptionException"/> for anything malformed, an unsupported
    /// algorithm, an out-of-range <c>p2c</c>, or failed authentication (wrong passphrase or tampering).
    /// </summary>
    public static byte[] Decrypt(string compact, string passphrase)
    {
        var parts = compact.Split('.');
        if (parts.Length != 5)
        {
            throw Malformed("expected 5 parts");
        }

        var headerBytes = DecodePart(parts[0], "header");
        var (iterations, p2s) = ParseHeader(headerBytes);
        var wrapped = DecodePart(parts[1], "encrypted key");
        var iv = DecodePart(parts[2], "initialization vector");
        var ciphertext = DecodePart(parts[3], "ciphertext");
        var tag = DecodePart(parts[4], "authentication tag");
        if (wrapped.Length != CekLength + 8 || iv.Length != IvLength || tag.Length != TagLength)
        {
            throw Malformed("wrong part length");
        }

        var kek = DeriveKek(passphrase, p2s, iterations);
        var cek = AesKeyWrap.Unwrap(kek, wrapped);
        CryptographicOperations.ZeroMemory(kek);
        if (cek is null)
        {
            throw new KeyDecryptionException("JWE decryption failed: wrong passphrase or corrupted key");
        }

        var plaintext = new byte[ciphertext.Length];
        try
        {
            using var gcm = new AesGcm(cek, TagLength);
            gcm.Decrypt(iv, ciphertext, tag, plaintext, Encoding.ASCII.GetBytes(parts[0]));
            return plaintext;
        }
        catch (CryptographicException ex)
        {
            CryptographicOperations.ZeroMemory(plaintext);
            throw new KeyDecryptionException("JWE decryption failed: authentication tag mismatch", ex);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(cek);
        }
    }

    /// <summary>PBKDF2-HMAC-SHA256 with salt = UTF8(alg) ‖ 0x00 ‖ p2s (RFC 7518 §4.8.1.1), 16-byte output for A128KW.</summary>
    internal static byte[] DeriveKek(string passphrase, ReadOnlySpan<byte> p2s, int iterations)
    {
        var algorithm = Encoding.UTF8.GetBytes(KeyWrapAlgorithm);
        var salt = new byte[algorithm.Length + 1 + p2s.Length];
        algorithm.CopyTo(salt, 0);
        p2s.CopyTo(salt.AsSpan(algorithm.Length + 1));
        return Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(passphrase), salt, iterations, HashAlgorithmName.SHA256, KekLength);
    }

    private static (int Iterations, byte[] Salt) ParseHeader(byte[] headerBytes)
    {
        try
        {
            using var document = JsonDocument.Parse(headerBytes);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Malformed("header is not a JSON object");
            }

            if (!root.TryGetProperty("alg", out var alg) || alg.ValueKind != JsonValueKind.String || alg.GetString() != KeyWrapAlgorithm)
            {
                throw Malformed("unsupported or missing alg");
            }

            if (!root.TryGetProperty("enc", out var enc) || enc.ValueKind != JsonValueKind.String || enc.GetString() != EncryptionAlgorithm)
            {
                throw Malformed("unsupported or missing enc");
            }

            // Compression and critical extensions are never written by notary-signer; refuse rather than misread.
            if (root.TryGetProperty("zip", out _) || root.TryGetProperty("crit", out _))
            {
                throw Malformed("unsupported zip or crit header");
            }

            if (!root.TryGetProperty("p2c", out var p2c) || p2c.ValueKind != JsonValueKind.Number
                || !p2c.TryGetInt32(out var iterations) || iterations < 1 || iterations > MaxIterations)
            {
                throw Malformed("missing or out-of-range p2c");
            }

            if (!root.TryGetProperty("p2s", out var p2s) || p2s.ValueKind != JsonValueKind.String)
            {
                throw Malformed("missing p2s");
            }

            var salt = DecodePart(p2s.GetString()!, "p2s");
            if (salt.Length < 8)
            {
                throw Malformed("p2s shorter than 8 bytes");
            }

            return (iterations, salt);
        }
        catch (JsonException ex)
        {
            throw new KeyDecryptionException("malformed JWE: header is not valid JSON", ex);
        }
    }

    private static byte[] DecodePart(string part, string what)
    {
        // Strictly the unpadded URL-safe alphabet: no padding, no whitespace (which Base64Url.IsValid would allow).
        if (part.Length % 4 == 1 || !part.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            throw Malformed($"{what} is not unpadded base64url");
        }

        try
        {
            return Base64Url.DecodeFromChars(part);
        }
        catch (FormatException ex)
        {
            throw new KeyDecryptionException($"malformed JWE: {what} is not base64url", ex);
        }
    }

    private static KeyDecryptionException Malformed(string reason) => new($"malformed JWE: {reason}");
}
