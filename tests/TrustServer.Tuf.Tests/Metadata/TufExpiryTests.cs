using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Tests.Metadata;

/// <summary>Expiry strings: up to 9 fractional digits, any offset, kept verbatim (spec tuf-metadata.md §2.1).</summary>
public sealed class TufExpiryTests
{
    [Theory]
    [InlineData("2116-07-03T17:56:36.027379879-05:00", "2116-07-03T22:56:36.0273798Z")]
    [InlineData("2026-12-09T11:08:33.937461872Z", "2026-12-09T11:08:33.9374618Z")]
    [InlineData("2026-12-09T11:08:33Z", "2026-12-09T11:08:33.0000000Z")]
    [InlineData("2026-12-09T11:08:33.5+01:30", "2026-12-09T09:38:33.5000000Z")]
    [InlineData("2026-12-09T11:08:33.123456789123Z", "2026-12-09T11:08:33.1234567Z")]
    public void Parse_KeepsTextAndComputesInstant(string text, string utc)
    {
        var expiry = TufExpiry.Parse(text);

        Assert.Equal(text, expiry.Text);
        Assert.Equal(DateTimeOffset.Parse(utc, System.Globalization.CultureInfo.InvariantCulture), expiry.Instant);
    }

    [Fact]
    public void IsExpiredAt_IsStrictlyBefore()
    {
        var expiry = TufExpiry.Parse("2030-01-01T00:00:00Z");

        Assert.False(expiry.IsExpiredAt(expiry.Instant));
        Assert.True(expiry.IsExpiredAt(expiry.Instant.AddTicks(1)));
        Assert.True(TufExpiry.Missing.IsExpiredAt(DateTimeOffset.UnixEpoch));
    }

    [Theory]
    [InlineData("2026-11-25T11:08:33.9370000Z", "2026-11-25T11:08:33.937Z")]
    [InlineData("2026-11-25T11:08:33Z", "2026-11-25T11:08:33Z")]
    [InlineData("2026-11-25T12:08:33.1234567+01:00", "2026-11-25T11:08:33.1234567Z")]
    public void FromInstant_WritesUtcWithTrimmedFraction(string instant, string text)
    {
        var expiry = TufExpiry.FromInstant(DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(text, expiry.Text);
        Assert.Equal(expiry.Instant, TufExpiry.Parse(expiry.Text).Instant);
    }

    [Theory]
    [InlineData("2006-01-02T15:04:05Z", "Mon Jan 2 15:04:05 UTC 2006")]
    [InlineData("2016-07-03T17:56:36.027379879-05:00", "Sun Jul 3 17:56:36 -0500 2016")]
    public void ToGoErrorFormat_MatchesGoLayout(string text, string expected)
    {
        Assert.Equal(expected, TufExpiry.Parse(text).ToGoErrorFormat());
    }
}
