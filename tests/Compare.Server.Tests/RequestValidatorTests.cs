using Compare.Server.Validation;

namespace Compare.Server.Tests;

public sealed class RequestValidatorTests
{
    /// <summary>
    /// Code points as .NET's rune enumeration counts them (a pair is one, a lone surrogate one), for texts around the
    /// vector widths with a pair, a lone high or low surrogate, or a reversed pair at every place.
    /// </summary>
    [Fact]
    public void CodePoints_AreTheRunesOfTheText_WhereverItsSurrogatesAre()
    {
        string[] inserts = ["\U0001F600", "\uD83D", "\uDE00", "\uDE00\uD83D", "\U0001F600\U0001F600", "é"];
        foreach (int length in new[] { 0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 130 })
        {
            string plain = string.Concat(Enumerable.Range(0, length).Select(i => (char)('a' + (i % 26))));
            Assert.Equal(length, RequestValidator.CodePoints(plain));
            for (int at = 0; at <= length; at++)
            {
                foreach (string insert in inserts)
                {
                    string text = plain.Insert(at, insert);
                    Assert.Equal(text.EnumerateRunes().Count(), RequestValidator.CodePoints(text));
                }
            }
        }
    }
}
