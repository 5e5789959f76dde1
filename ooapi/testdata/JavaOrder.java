// Prints names and, for every pair, the sign of Java's
// String.CASE_INSENSITIVE_ORDER.compare: the oracle for ooapi's compareNames.
// Run: java testdata/JavaOrder.java > testdata/java-case-insensitive-order.txt
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

public class JavaOrder {
    public static void main(String[] args) {
        String[] alphabet = {"A", "a", "Z", "z", "_", "0", "9", ".", "-", "[", "`", "{", "~", "@", "^",
            "\u00C6", "\u00E6", "\u00D8", "\u00F8", "\u00C5", "\u00E5", "\u00DF", "\u1E9E", "\u00FF", "\u0178",
            "\u00B5", "\u039C", "\u03BC", "\u0130", "\u0131", "I", "i", "K", "k", "\u212A", "\u017F", "s", "S",
            "\u03A3", "\u03C3", "\u03C2", "\u01C5", "\u01C4", "\u01C6", "\u0416", "\u0436", "\u20AC", "\u00A0"};
        List<String> names = new ArrayList<>();
        for (String a : alphabet) names.add(a);
        Random r = new Random(4);
        for (int n = 0; n < 60; n++) {
            StringBuilder sb = new StringBuilder();
            int len = 2 + r.nextInt(2);
            for (int i = 0; i < len; i++) sb.append(alphabet[r.nextInt(alphabet.length)]);
            names.add(sb.toString());
        }
        String[] nemid = {"SIGN_PROPERTIES", "SIGNTEXT", "signtext_format", "SIGNTEXT_FORMAT", "SP_CERT", "Sp_Cert",
            "TIMESTAMP", "TimeStamp", "CLIENTFLOW", "ClientFlow", "PARAMS_DIGEST", "params_digest", "\u017FP_CERT"};
        for (String s : nemid) names.add(s);
        for (String s : names) System.out.println(escape(s));
        System.out.println("---");
        for (String a : names) {
            StringBuilder row = new StringBuilder();
            for (String b : names) {
                int c = String.CASE_INSENSITIVE_ORDER.compare(a, b);
                row.append(c < 0 ? '-' : c > 0 ? '+' : '0');
            }
            System.out.println(row);
        }
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20 || c > 0x7E) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.toString();
    }
}
