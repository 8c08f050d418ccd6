using TrustServer.Signing.Encryption;

namespace TrustServer.Signing.Tests.Encryption;

public sealed class AesKeyWrapTests
{
    // RFC 3394 §4.1: 128 bits of key data with a 128-bit KEK.
    [Fact]
    public void Wrap_Rfc3394Vector41_MatchesAndUnwraps()
    {
        var kek = Convert.FromHexString("000102030405060708090A0B0C0D0E0F");
        var data = Convert.FromHexString("00112233445566778899AABBCCDDEEFF");
        var expected = Convert.FromHexString("1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5");

        Assert.Equal(expected, AesKeyWrap.Wrap(kek, data));
        Assert.Equal(data, AesKeyWrap.Unwrap(kek, expected));
    }

    // RFC 3394 §4.6: 256 bits of key data with a 256-bit KEK.
    [Fact]
    public void Wrap_Rfc3394Vector46_MatchesAndUnwraps()
    {
        var kek = Convert.FromHexString("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F");
        var data = Convert.FromHexString("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F");
        var expected = Convert.FromHexString("28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21");

        Assert.Equal(expected, AesKeyWrap.Wrap(kek, data));
        Assert.Equal(data, AesKeyWrap.Unwrap(kek, expected));
    }

    [Fact]
    public void Unwrap_WrongKekOrTamperedData_ReturnsNull()
    {
        var kek = Convert.FromHexString("000102030405060708090A0B0C0D0E0F");
        var wrapped = AesKeyWrap.Wrap(kek, new byte[32]);
        var otherKek = (byte[])kek.Clone();
        otherKek[0] ^= 1;
        var tampered = (byte[])wrapped.Clone();
        tampered[20] ^= 1;

        Assert.Null(AesKeyWrap.Unwrap(otherKek, wrapped));
        Assert.Null(AesKeyWrap.Unwrap(kek, tampered));
        Assert.Null(AesKeyWrap.Unwrap(kek, wrapped.AsSpan(0, 20)));
    }
}
