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

    /// <summary>
    /// Parses JSON and re-encodes it canonically: the bytes a Notary signature covers. Same result as
    /// <c>Encode(JsonParser.Parse(json))</c>, but works on the bytes (one <see cref="JsonParser.Outline"/> per object or
    /// array, leaves decoded one at a time) so a large body never becomes a tree: the cost is about one output buffer.
    /// Input that already is canonical (what Notary clients upload) is recognized in one pass and copied.
    /// </summary>
    public static byte[] Canonicalize(ReadOnlySpan<byte> json)
    {
        var value = json.Trim(" \t\r\n"u8);
        if (IsCanonical(value))
        {
            return value.ToArray();
        }

        if (value.IsEmpty || value[0] is not ((byte)'{' or (byte)'['))
        {
            return Encode(JsonParser.Parse(json));
        }

        var buffer = new ArrayBufferWriter<byte>(Math.Max(256, value.Length));
        WriteCanonical(buffer, value);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Whether <paramref name="json"/> is one JSON value that is exactly its own canonical form, i.e.
    /// <see cref="Canonicalize"/> would return the same bytes: no whitespace, object keys without escapes in strictly
    /// increasing byte order (no duplicates), strings escaping only <c>"</c> and <c>\</c> and otherwise valid UTF-8
    /// without control characters, and integers of at most 15 digits (exact as doubles) without a sign on zero.
    /// Conservative: false for anything else, including canonical forms it does not prove (e.g. longer integers) and
    /// invalid JSON; those go the full way.
    /// </summary>
    internal static bool IsCanonical(ReadOnlySpan<byte> json)
    {
        var position = 0;
        return IsCanonicalValue(json, ref position, 0) && position == json.Length;
    }

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

    // One canonical value at position, which ends up just after it; false at the first byte that is not canonical.
    private static bool IsCanonicalValue(ReadOnlySpan<byte> json, ref int position, int depth)
    {
        if (position >= json.Length || depth >= JsonParser.MaxDepth)
        {
            return false;
        }

        switch (json[position])
        {
            case (byte)'{':
                position++;
                ReadOnlySpan<byte> previous = default;
                for (var first = true; ; first = false)
                {
                    if (first && position < json.Length && json[position] == '}')
                    {
                        position++;
                        return true;
                    }

                    var keyStart = position;
                    if (!IsCanonicalString(json, ref position, allowEscapes: false))
                    {
                        return false;
                    }

                    var key = json[(keyStart + 1)..(position - 1)];
                    if ((!first && previous.SequenceCompareTo(key) >= 0) || position >= json.Length || json[position] != ':')
                    {
                        return false;
                    }

                    previous = key;
                    position++;
                    if (!IsCanonicalValue(json, ref position, depth + 1) || position >= json.Length)
                    {
                        return false;
                    }

                    var next = json[position++];
                    if (next == '}')
                    {
                        return true;
                    }

                    if (next != ',')
                    {
                        return false;
                    }
                }

            case (byte)'[':
                position++;
                for (var first = true; ; first = false)
                {
                    if (first && position < json.Length && json[position] == ']')
                    {
                        position++;
                        return true;
                    }

                    if (!IsCanonicalValue(json, ref position, depth + 1) || position >= json.Length)
                    {
                        return false;
                    }

                    var next = json[position++];
                    if (next == ']')
                    {
                        return true;
                    }

                    if (next != ',')
                    {
                        return false;
                    }
                }

            case (byte)'"':
                return IsCanonicalString(json, ref position, allowEscapes: true);
            case (byte)'t':
                return IsLiteral(json, ref position, "true"u8);
            case (byte)'f':
                return IsLiteral(json, ref position, "false"u8);
            case (byte)'n':
                return IsLiteral(json, ref position, "null"u8);
            default:
                return IsCanonicalInteger(json, ref position);
        }
    }

    // A string whose only escapes are \" and \\ (none at all in keys) and whose text is valid UTF-8.
    private static bool IsCanonicalString(ReadOnlySpan<byte> json, ref int position, bool allowEscapes)
    {
        if (position >= json.Length || json[position] != '"')
        {
            return false;
        }

        var start = ++position;
        while (true)
        {
            var stop = json[position..].IndexOfAny((byte)'"', (byte)'\\');
            if (stop < 0)
            {
                return false;
            }

            position += stop;
            if (json[position] == '"')
            {
                var text = json[start..position++];
                return text.IndexOfAnyInRange((byte)0, (byte)0x1F) < 0 && System.Text.Unicode.Utf8.IsValid(text);
            }

            if (!allowEscapes || position + 1 >= json.Length || json[position + 1] is not ((byte)'"' or (byte)'\\'))
            {
                return false;
            }

            position += 2;
        }
    }

    // -?(0|[1-9][0-9]{0,14}), not -0: integers the double round trip of FormatNumber writes back unchanged.
    private static bool IsCanonicalInteger(ReadOnlySpan<byte> json, ref int position)
    {
        var negative = json[position] == '-';
        var start = negative ? position + 1 : position;
        var end = start;
        while (end < json.Length && json[end] is >= (byte)'0' and <= (byte)'9')
        {
            end++;
        }

        var digits = end - start;
        if (digits is 0 or > 15 || (json[start] == '0' && (digits > 1 || negative))
            || (end < json.Length && json[end] is (byte)'.' or (byte)'e' or (byte)'E'))
        {
            return false;
        }

        position = end;
        return true;
    }

    private static bool IsLiteral(ReadOnlySpan<byte> json, ref int position, ReadOnlySpan<byte> literal)
    {
        if (!json[position..].StartsWith(literal))
        {
            return false;
        }

        position += literal.Length;
        return true;
    }

    // One value, already trimmed; JsonParser.Outline checks containers in full before anything is written.
    private static void WriteCanonical(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        switch (value.IsEmpty ? 0 : value[0])
        {
            case (byte)'{' or (byte)'[':
                var outline = JsonParser.Outline(value);
                var children = outline.Children;
                if (outline.Kind == JsonValueKind.Array)
                {
                    output.Write("["u8);
                    for (var i = 0; i < children.Count; i++)
                    {
                        if (i > 0)
                        {
                            output.Write(","u8);
                        }

                        WriteCanonical(output, value.Slice(children[i].Offset, children[i].Length));
                    }

                    output.Write("]"u8);
                    break;
                }

                // Sorted by key, ties by position, so that of duplicate keys the last one is written (Go decoder).
                var order = new int[children.Count];
                for (var i = 0; i < order.Length; i++)
                {
                    order[i] = i;
                }

                Array.Sort(order, (x, y) => CompareUtf8(children[x].Key!, children[y].Key!) is var c && c != 0 ? c : x.CompareTo(y));
                output.Write("{"u8);
                var first = true;
                for (var i = 0; i < order.Length; i++)
                {
                    var member = children[order[i]];
                    if (i + 1 < order.Length && children[order[i + 1]].Key == member.Key)
                    {
                        continue;
                    }

                    if (!first)
                    {
                        output.Write(","u8);
                    }

                    first = false;
                    WriteString(output, member.Key!);
                    output.Write(":"u8);
                    WriteCanonical(output, value.Slice(member.Offset, member.Length));
                }

                output.Write("}"u8);
                break;
            case (byte)'"':
                WriteString(output, JsonParser.DecodeString(value));
                break;
            case (byte)'-' or (>= (byte)'0' and <= (byte)'9'):
                output.Write(Encoding.ASCII.GetBytes(FormatNumber(new JsonNumber(Encoding.ASCII.GetString(value)))));
                break;
            default:
                Write(output, JsonParser.Parse(value)); // true, false, null
                break;
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
