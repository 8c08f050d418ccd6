using System.Buffers.Binary;
using System.Security.Cryptography;

namespace TrustServer.Signing.Encryption;

/// <summary>
/// AES Key Wrap (RFC 3394 §2.2.1/§2.2.2, default IV A6A6A6A6A6A6A6A6), the key management step of
/// <c>PBES2-HS256+A128KW</c> (RFC 7518 §4.8). .NET has no built-in key wrap, only raw AES-ECB to build it on.
/// </summary>
internal static class AesKeyWrap
{
    private const ulong DefaultIv = 0xA6A6A6A6A6A6A6A6;

    /// <summary>Wraps <paramref name="keyData"/> (a multiple of 8 bytes, at least 16) under <paramref name="kek"/>.</summary>
    public static byte[] Wrap(ReadOnlySpan<byte> kek, ReadOnlySpan<byte> keyData)
    {
        if (keyData.Length < 16 || keyData.Length % 8 != 0)
        {
            throw new ArgumentException("key data must be a multiple of 8 bytes and at least 16 bytes", nameof(keyData));
        }

        var n = keyData.Length / 8;
        var output = new byte[keyData.Length + 8];
        keyData.CopyTo(output.AsSpan(8));
        var a = DefaultIv;
        Span<byte> block = stackalloc byte[16];
        using var aes = Aes.Create();
        aes.Key = kek.ToArray();
        for (var j = 0; j <= 5; j++)
        {
            for (var i = 1; i <= n; i++)
            {
                // B = AES(K, A | R[i]); A = MSB(64, B) ^ t where t = (n*j)+i; R[i] = LSB(64, B)
                BinaryPrimitives.WriteUInt64BigEndian(block, a);
                output.AsSpan(i * 8, 8).CopyTo(block[8..]);
                aes.EncryptEcb(block, block, PaddingMode.None);
                a = BinaryPrimitives.ReadUInt64BigEndian(block) ^ (ulong)((n * j) + i);
                block[8..].CopyTo(output.AsSpan(i * 8, 8));
            }
        }

        BinaryPrimitives.WriteUInt64BigEndian(output, a);
        CryptographicOperations.ZeroMemory(block);
        return output;
    }

    /// <summary>
    /// Unwraps <paramref name="wrapped"/>; returns null when the integrity check fails (wrong KEK or tampered
    /// data) so callers report one error for both, as they should.
    /// </summary>
    public static byte[]? Unwrap(ReadOnlySpan<byte> kek, ReadOnlySpan<byte> wrapped)
    {
        if (wrapped.Length < 24 || wrapped.Length % 8 != 0)
        {
            return null;
        }

        var n = (wrapped.Length / 8) - 1;
        var r = new byte[n * 8];
        wrapped[8..].CopyTo(r);
        var a = BinaryPrimitives.ReadUInt64BigEndian(wrapped);
        Span<byte> block = stackalloc byte[16];
        using var aes = Aes.Create();
        aes.Key = kek.ToArray();
        for (var j = 5; j >= 0; j--)
        {
            for (var i = n; i >= 1; i--)
            {
                // B = AES-1(K, (A ^ t) | R[i]) where t = n*j+i; A = MSB(64, B); R[i] = LSB(64, B)
                BinaryPrimitives.WriteUInt64BigEndian(block, a ^ (ulong)((n * j) + i));
                r.AsSpan((i - 1) * 8, 8).CopyTo(block[8..]);
                aes.DecryptEcb(block, block, PaddingMode.None);
                a = BinaryPrimitives.ReadUInt64BigEndian(block);
                block[8..].CopyTo(r.AsSpan((i - 1) * 8, 8));
            }
        }

        CryptographicOperations.ZeroMemory(block);
        Span<byte> expected = stackalloc byte[8];
        Span<byte> actual = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(expected, DefaultIv);
        BinaryPrimitives.WriteUInt64BigEndian(actual, a);
        if (!CryptographicOperations.FixedTimeEquals(expected, actual))
        {
            CryptographicOperations.ZeroMemory(r);
            return null;
        }

        return r;
    }
}
