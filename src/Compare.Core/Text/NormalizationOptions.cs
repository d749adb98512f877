namespace Compare.Core.Text;

/// <summary>
/// How text is normalised into words before shingling. Unicode NFKC and case folding are always
/// applied; these flags add the optional foldings.
/// </summary>
/// <param name="FoldDigits">Map every decimal digit to 0, so "2014" and "2016" become the same word.</param>
/// <param name="FoldDiacritics">Remove combining marks after canonical decomposition ("café" → "cafe").</param>
/// <param name="CjkBigrams">Split runs of Han, Kana, Thai, Lao, Khmer and Myanmar characters (scripts written without spaces) into overlapping character bigrams; when false each such run is one word.</param>
public sealed record NormalizationOptions(bool FoldDigits = false, bool FoldDiacritics = false, bool CjkBigrams = true)
{
    /// <summary>NFKC, case folding and CJK bigrams; no digit or diacritic folding.</summary>
    public static NormalizationOptions Default { get; } = new();
}
