using System.Globalization;

namespace TrustServer.Tuf.Metadata;

/// <summary>
/// An <c>expires</c> value: the verbatim RFC 3339 string (up to 9 fractional digits, any offset) and the
/// instant it denotes. .NET keeps 7 fractional digits, so the instant is truncated to 100 ns; the string is
/// never rewritten (spec tuf-metadata.md §2.1).
/// </summary>
public readonly record struct TufExpiry(string Text, DateTimeOffset Instant)
{
    /// <summary>Go's zero time, which a missing <c>expires</c> decodes to.</summary>
    public static readonly TufExpiry Missing = new(string.Empty, new DateTimeOffset(1, 1, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Expired when strictly before now (spec tuf-metadata.md §2.1, Go <c>IsExpired</c>).</summary>
    public bool IsExpiredAt(DateTimeOffset now) => Instant < now;

    /// <summary>
    /// Parses RFC 3339 as Go's <c>time.Parse(time.RFC3339)</c> does: <c>YYYY-MM-DDTHH:MM:SS</c>, optional fraction
    /// of any length, then <c>Z</c> or <c>±hh:mm</c>.
    /// </summary>
    public static TufExpiry Parse(string text)
    {
        if (!TryParse(text, out var result))
        {
            throw new TufFormatException($"expires \"{text}\" is not an RFC 3339 date-time");
        }

        return result;
    }

    /// <summary>Non-throwing form of <see cref="Parse"/>.</summary>
    public static bool TryParse(string text, out TufExpiry result)
    {
        result = default;
        var s = text.AsSpan();
        if (s.Length < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        {
            return false;
        }

        if (!Digits(s[..4], out var year) || !Digits(s[5..7], out var month) || !Digits(s[8..10], out var day)
            || !Digits(s[11..13], out var hour) || !Digits(s[14..16], out var minute) || !Digits(s[17..19], out var second))
        {
            return false;
        }

        var position = 19;
        long ticks = 0;
        if (s[position] == '.')
        {
            var start = ++position;
            while (position < s.Length && char.IsAsciiDigit(s[position]))
            {
                position++;
            }

            if (position == start)
            {
                return false;
            }

            // 7 digits = 100 ns ticks; digits 8 and 9 are dropped (kept only in Text).
            var fraction = s[start..position];
            var seven = fraction.Length >= 7 ? fraction[..7].ToString() : fraction.ToString().PadRight(7, '0');
            ticks = long.Parse(seven, CultureInfo.InvariantCulture);
        }

        TimeSpan offset;
        var zone = s[position..];
        if (zone is "Z")
        {
            offset = TimeSpan.Zero;
        }
        else if (zone.Length == 6 && zone[0] is '+' or '-' && zone[3] == ':'
                 && Digits(zone[1..3], out var offsetHours) && Digits(zone[4..6], out var offsetMinutes)
                 && offsetMinutes < 60 && offsetHours <= 14)
        {
            offset = new TimeSpan(offsetHours, offsetMinutes, 0);
            if (zone[0] == '-')
            {
                offset = -offset;
            }
        }
        else
        {
            return false;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month)
            || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        try
        {
            var instant = new DateTimeOffset(year, month, day, hour, minute, second, offset).AddTicks(ticks);
            result = new TufExpiry(text, instant);
            return true;
        }
        catch (ArgumentOutOfRangeException)
        {
            return false; // outside DateTimeOffset's range once the offset is applied
        }
    }

    /// <summary>
    /// Formats an instant the way the server writes expiries: UTC, <c>Z</c>, fraction with trailing zeros
    /// removed (spec tuf-metadata.md §2.1).
    /// </summary>
    public static TufExpiry FromInstant(DateTimeOffset instant)
    {
        var utc = instant.ToUniversalTime();
        var text = utc.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss.FFFFFFF", CultureInfo.InvariantCulture).TrimEnd('.') + "Z";
        return new TufExpiry(text, utc);
    }

    /// <summary>The instant in Go's <c>Mon Jan 2 15:04:05 MST 2006</c> layout, as Notary's expiry errors print it.</summary>
    public string ToGoErrorFormat()
    {
        var zone = Instant.Offset == TimeSpan.Zero
            ? "UTC"
            : (Instant.Offset < TimeSpan.Zero ? "-" : "+") + Instant.Offset.ToString("hhmm", CultureInfo.InvariantCulture);
        return Instant.ToString("ddd MMM d HH:mm:ss", CultureInfo.InvariantCulture) + " " + zone + " "
            + Instant.Year.ToString(CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public override string ToString() => Text;

    private static bool Digits(ReadOnlySpan<char> span, out int value)
    {
        value = 0;
        foreach (var c in span)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }
}
