using System.Buffers;
using System.Globalization;
using System.Text;

namespace TrustServer.Tuf.Json;

/// <summary>
/// Canonical JSON exactly as Notary signs and verifies it (spec tuf-metadata.md §8.2, the generic-tree
/// encoder of <c>github.com/docker/go/canonical/json</c>): no whitespace; object members sorted by the bytes of
/// their UTF-8 keys; strings escape only <c>"</c> and <c>\</c> and write everything else raw; numbers are
/// decoded as doubles and must be integral, written as plain integers.
/// </summary>
public static class CanonicalJson
{
    /// <summary>Encodes a tree to canonical bytes. Throws <see cref="TufFormatException"/> for non-integral numbers.</summary>
    public static byte[] Encode(JsonValue value)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Parses JSON and re-encodes it canonically: the bytes a Notary signature covers.</summary>
    public static byte[] Canonicalize(ReadOnlySpan<byte> json) => Encode(JsonParser.Parse(json));

    /// <summary>Orders strings by their UTF-8 bytes (Go string order), which differs from UTF-16 ordinal order.</summary>
    public static int CompareUtf8(string left, string right)
    {
        var a = left.EnumerateRunes();
        var b = right.EnumerateRunes();
        while (true)
        {
            var hasA = a.MoveNext();
            var hasB = b.MoveNext();
            if (!hasA || !hasB)
            {
                return hasA.CompareTo(hasB);
            }

            // Scalar-value order equals UTF-8 byte order for well-formed text.
            var order = a.Current.Value.CompareTo(b.Current.Value);
            if (order != 0)
            {
                return order;
            }
        }
    }

    private static void Write(ArrayBufferWriter<byte> output, JsonValue value)
    {
        switch (value)
        {
            case JsonObject obj:
                output.Write("{"u8);
                var members = obj.Members.ToArray();
                Array.Sort(members, static (x, y) => CompareUtf8(x.Key, y.Key));
                for (var i = 0; i < members.Length; i++)
                {
                    if (i > 0)
                    {
                        output.Write(","u8);
                    }

                    WriteString(output, members[i].Key);
                    output.Write(":"u8);
                    Write(output, members[i].Value);
                }

                output.Write("}"u8);
                break;
            case JsonArray array:
                output.Write("["u8);
                for (var i = 0; i < array.Items.Count; i++)
                {
                    if (i > 0)
                    {
                        output.Write(","u8);
                    }

                    Write(output, array.Items[i]);
                }

                output.Write("]"u8);
                break;
            case JsonString s:
                WriteString(output, s.Value);
                break;
            case JsonNumber n:
                output.Write(Encoding.ASCII.GetBytes(FormatNumber(n)));
                break;
            case JsonLiteral { Kind: JsonValueKind.Null }:
                output.Write("null"u8);
                break;
            case JsonLiteral literal:
                output.Write(literal.BooleanValue ? "true"u8 : "false"u8);
                break;
            default:
                throw new InvalidOperationException($"unknown JSON node {value.GetType().Name}");
        }
    }

    private static string FormatNumber(JsonNumber number)
    {
        // Go decodes into float64 first; large integers therefore lose precision exactly as in Notary.
        if (!number.TryGetDouble(out var d))
        {
            throw new TufFormatException($"json: number {number.Literal} is out of range");
        }

        if (Math.Floor(d) != d)
        {
            // Notary's exact error (Go formats the float with strconv 'g', shortest).
            throw new TufFormatException($"json: unsupported value: {FormatGoShortest(d)}");
        }

        // Go converts with int64(f); values beyond the int64 range have no meaningful canonical form.
        if (d is >= 9.2233720368547758E18 or < -9.2233720368547758E18)
        {
            throw new TufFormatException($"json: unsupported value: {number.Literal} (integer out of the 64-bit range)");
        }

        return ((long)d).ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>A non-integral double as Go's <c>strconv.FormatFloat(f, 'g', -1, 64)</c> writes it.</summary>
    internal static string FormatGoShortest(double value)
    {
        // Shortest round-trip digits and the decimal point position: |value| = 0.digits × 10^pointPosition.
        var shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        var exponentAt = shortest.IndexOf('E', StringComparison.Ordinal);
        var exponent = exponentAt < 0 ? 0 : int.Parse(shortest[(exponentAt + 1)..], CultureInfo.InvariantCulture);
        var mantissa = exponentAt < 0 ? shortest : shortest[..exponentAt];
        var dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        var integral = dot < 0 ? mantissa : mantissa[..dot];
        var all = integral + (dot < 0 ? string.Empty : mantissa[(dot + 1)..]);
        var significant = all.TrimStart('0');
        var pointPosition = integral.Length + exponent - (all.Length - significant.Length);
        var digits = significant.TrimEnd('0');

        var sign = value < 0 ? "-" : string.Empty;
        var decimalExponent = pointPosition - 1;
        if (decimalExponent is < -4 or >= 6)
        {
            var fraction = digits.Length > 1 ? "." + digits[1..] : string.Empty;
            var exponentSign = decimalExponent < 0 ? "-" : "+";
            return $"{sign}{digits[0]}{fraction}e{exponentSign}{Math.Abs(decimalExponent):00}";
        }

        if (pointPosition <= 0)
        {
            return $"{sign}0.{new string('0', -pointPosition)}{digits}";
        }

        return digits.Length <= pointPosition
            ? sign + digits + new string('0', pointPosition - digits.Length)
            : $"{sign}{digits[..pointPosition]}.{digits[pointPosition..]}";
    }

    private static void WriteString(ArrayBufferWriter<byte> output, string value)
    {
        output.Write("\""u8);
        var utf8 = Encoding.UTF8.GetBytes(value);
        var start = 0;
        for (var i = 0; i < utf8.Length; i++)
        {
            if (utf8[i] is (byte)'"' or (byte)'\\')
            {
                output.Write(utf8.AsSpan(start, i - start));
                output.Write("\\"u8);
                start = i;
            }
        }

        output.Write(utf8.AsSpan(start));
        output.Write("\""u8);
    }
}
