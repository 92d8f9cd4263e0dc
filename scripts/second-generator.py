#!/usr/bin/env python3
"""A second generator of synthetic registrations and tracing requests, written apart from
`peywand synth`, from the product brief and the interchange formats alone, with its own name
lists, households and clerks' habits. Matching is measured on it so that a figure does not
rest on the quirks of one generator (scripts/bench-second-generator).

Standard library only.  Deterministic for a given --seed.

    python3 scripts/second-generator.py --people N --seed S --out DIR

writes DIR/registry.csv, DIR/truth.csv, DIR/tracing.jsonl and, to read errors by, what was done
to each record and request: DIR/noise_tags.csv, DIR/tracing_tags.csv and DIR/stats.json; and
DIR/households.csv, the true household behind each household_id (households register again as a
unit, changed: see World.plan_household).
The requests' ages are stated near the person's first registration (2023-2026); searches are
run as of 2024-12-01.
"""
import argparse
import bisect
import csv
import datetime as dt
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict

ZWNJ = "\u200c"
TATWEEL = "\u0640"
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"

# ---------------------------------------------------------------------------
# Lexicon.  Line format:  Latin variants (comma separated) | Arabic-script (Dari) variants | Pashto variants
# Variant tags: *p = Pakistani/Urdu-influenced spelling, *a = Afghan/Persian-influenced, *r = rare.
# The key of an entry is its first Latin variant, lower-cased, spaces removed.
# ---------------------------------------------------------------------------

MALE_COMPONENTS = """
Mohammad,Muhammad*p,Mohammed,Mohamad,Mohd*p*r,Mohamed*r,Muhammed*r,Mohammad*a,Mohmmad*r | محمد
Ahmad,Ahmed*p,Ahmad*a,Ahmd*r | احمد
Mahmood,Mahmud*a,Mehmood*p,Mahmod*r | محمود
Hamid,Hameed*p,Hamed*a | حمید
Zahir,Zaheer*p,Zaher*a | ظاهر
Nabi,Nabee*r,Nabie*r | نبی
Karim,Kareem*p,Karem*r | کریم
Rahim,Raheem*p,Rahem*r | رحیم
Jawad,Javad*a,Jawaad*r | جواد
Farid,Fareed*p,Fared*r | فرید
Wahid,Waheed*p,Vahid*a | وحید
Rashid,Rasheed*p,Rashed*a | رشید
Bashir,Basheer*p,Basher*r | بشیر
Nasir,Naser*a,Nasser*r | ناصر
Naseer,Nasir,Naseer*p,Nasiir*r | نصیر
Naveed,Navid*a,Nawid*a | نوید
Fawad,Fawaad*r,Fuad*r | فواد
Fahim,Faheem*p,Fahem*r | فهیم
Hakim,Hakeem*p,Hakem*r | حکیم
Hashim,Hashem*a,Hasham*p | هاشم
Idris,Idrees*p,Edris*a | ادریس
Ismail,Ismael,Esmail*a,Ismaeel*r | اسماعیل
Ibrahim,Ebrahim*a,Ibraheem*p | ابراهیم
Yousuf,Yusuf,Yousaf*p,Yosuf*a,Yousef*r | یوسف
Yaqub,Yaqoob*p,Yakub*r,Yaqob*a | یعقوب
Younus,Yunus,Younas*p,Yonus*a | یونس
Ilyas,Elyas*a,Ilyaas*r | الیاس
Ayub,Ayoob*p,Ayoub,Ayob*a | ایوب
Daud,Dawood,Dawud*r,Dawod*a | داود
Suleiman,Sulaiman,Sulaiman*p,Soleiman*a,Sulayman*r | سلیمان
Musa,Moosa*p,Mosa*a | موسی
Isa,Eisa*a,Esa*r | عیسی
Haroon,Harun,Haroun*r | هارون
Omar,Umar*p,Omer*r | عمر
Usman,Osman*a,Usmaan*r | عثمان
Ali,Aly*r | علی
Hassan,Hasan,Hasan*a | حسن
Hussain,Hussein,Husain*p,Hossain*a,Hosain*r | حسین
Khalid,Khaled*a,Khaleed*r | خالد
Tariq,Tareq*a,Tarik*r | طارق
Bilal,Belal*a | بلال
Hamza,Hamzah*r,Hamzeh*a | حمزه
Zubair,Zobair*a,Zubayr*r | زبیر
Jamil,Jameel*p,Jamel*r | جمیل
Jalil,Jaleel*p | جلیل
Khalil,Khaleel*p,Khalel*r | خلیل
Sharif,Shareef*p,Sharef*r | شریف
Latif,Lateef*p,Latef*r | لطیف
Wali,Vali*a,Walli*r | ولی
Sher,Shir*a,Sheer*r | شیر
Aziz,Azeez*p,Azez*r | عزیز
Akbar,Akber*r | اکبر
Asghar,Asgher*r,Asgar*r | اصغر
Haidar,Haider*p,Hayder*r,Haydar*a | حیدر
Baryalai,Baryalay,Baryali*r | بریالی
Zalmai,Zalmay,Zalmey*r | زلمی
Wais,Ways*r,Vais*a | ویس
Mirwais,Mirvais*a,Mir Wais*r | میرویس
Ajmal,Ajmel*r | اجمل
Shafiq,Shafeeq*p,Shafeq*a | شفیق
Rafiq,Rafeeq*p,Rafeq*a | رفیق
Naqib,Naqeeb*p,Naqeb*a | نقیب
Najib,Najeeb*p,Najeb*a | نجیب
Mujib,Mujeeb*p,Mojib*a | مجیب
Habib,Habeeb*p,Habeb*r | حبیب
Qadir,Qader*a,Kadir*r,Qadeer*r | قادر
Sadiq,Sadeq*a,Sadik*r | صادق
Siddiq,Sediq*a,Siddique*p,Sidiq*r | صدیق
Javed,Jawed,Javid*a,Jawid*a | جاوید
Rahmat,Rehmat*p,Rahmath*r | رحمت
Nazar,Nazer*r | نظر
Sakhi,Sakhee*r | سخی
Hazrat,Hazarat*r,Hazrath*r | حضرت
Juma,Jumma*p,Joma*a,Jumah*r | جمعه
Qurban,Qorban*a,Kurban*r | قربان
Zarif,Zareef*p | ظریف
Sabir,Saber*a,Sabeer*r | صابر
Shakir,Shaker*a | شاکر
Nazir,Nazeer*p,Nazer*a | نذیر
Munir,Muneer*p,Monir*a | منیر
Basir,Baseer*p,Baser*r | بصیر
Mansoor,Mansur,Mansour*r | منصور
Masood,Masud,Masoud*a | مسعود
Mahboob,Mahbub,Mehboob*p | محبوب
Matin,Mateen*p,Matin*a | متین
Rasool,Rasul,Rasol*a | رسول
Rauf,Raouf*r,Rauf*a | رئوف,رؤوف,روف
Saboor,Sabur,Sabour*r | صبور
Shakoor,Shakur,Shukur*r | شکور
Sarwar,Sarwer*r,Sarvar*a | سرور
Safar,Safer*r | صفر
Shahid,Shahed*a,Shaheed*r | شاهد
Shoaib,Shuaib,Shoeb*p | شعیب
Sohail,Suhail,Sohel*r | سهیل
Tamim,Tameem*p | تمیم
Yasin,Yaseen*p,Yasin*a | یاسین
Zakir,Zaker*a,Zakeer*r | ذاکر
Zaman,Zamaan*r | زمان
Zakaria,Zakariya,Zakarya*a | زکریا
Ehsan,Ihsan*p,Ahsan*r | احسان
Emal,Aimal,Imal*r | ایمل
Atal,Atall*r | اتل
Bahram,Behram*p | بهرام
Dilawar,Delawar*a,Dilaawar*r | دلاور
Gulab,Golab*a | گلاب
Khushal,Khoshal*a,Khushhal*p | خوشحال
Malang,Malange*r | ملنگ | ملنګ
Nawab,Nawaab*r | نواب
Painda,Paynda*a,Pinda*r | پاینده
Sardar,Sirdar*r | سردار
Shahzad,Shehzad*p,Shahzaad*r | شهزاد
Toor,Tor,Tur*r | تور
Wazir,Wazeer*p | وزیر
Janan,Janaan*r | جانان
Jamshid,Jamshed*p | جمشید
Jahangir,Jahangeer*p | جهانگیر
Amin,Ameen*p,Amen*r | امین
Nasim,Naseem*p,Nassim*r | نسیم
Naeem,Naim,Nayeem*r | نعیم
Qasim,Qasem*a,Kasim*r | قاسم
Hanif,Haneef*p | حنیف
Aslam,Aslem*r | اسلم
Tahir,Taher*a,Taahir*r | طاهر
Asif,Asef*a,Aasif*p | آصف
Alam,Aalam*r | عالم
Akram,Akrem*r | اکرم
Anwar,Anwer*r,Anvar*a | انور
Arif,Aref*a,Aarif*p | عارف
Azim,Azeem*p | عظیم
Fazl,Fazal*p,Fazel*r | فضل
Ghani,Ghanee*r,Gani*r | غنی
Hadi,Haadi*r | هادی
Jabbar,Jabar | جبار
Malik,Malek*a | ملک
Qayum,Qayyum,Qayoom*p,Kayum*r | قیوم
Salam,Salaam*r | سلام
Sattar,Satar | ستار
Wakil,Wakeel*p,Vakil*a | وکیل
Haq,Haque*p,Hak*r | حق
Razaq,Razzaq,Razak*r | رزاق
Ahad,Ahed*r | احد
Baqi,Baqee*r,Baki*r | باقی
Samad,Samed*r | صمد
Manan,Mannan*p | منان
Majid,Majeed*p,Majed*a | مجید
Wahab,Wahhab,Vahab*a | وهاب
Basit,Baset*a | باسط
Qahar,Qahhar | قهار
Khaliq,Khaleq*a | خالق
Ghafoor,Ghafur,Gafoor*r | غفور
Kabir,Kabeer*p | کبیر
Rahman,Rehman*p,Rahmaan*r,Rahman*a | رحمان,رحمن
Agha,Aga*r,Aqa*a | آغا,آقا
Dost,Dust*r | دوست
Faiz,Fayz*a,Faez*r | فیض
Taj,Taaj*r | تاج
Din,Deen*p | دین
Yar,Yaar*r | یار
Raz,Raaz*r | راز
Pir,Peer*p | پیر
Sultan,Soltan*a | سلطان
Khan,Khaan*r | خان
Jan,Jaan*r | جان
Gul,Gull*r,Gol*a | گل
Noor,Nur,Nor*r | نور
Zar,Zarr*r | زر
Lal,Laal*r | لعل,لال
Shah,Sha*r | شاه
Mir,Meer*p | میر
Sayed,Sayyed,Syed*p,Said*r,Sayyid*r,Seyed*a | سید
Ghulam,Gholam*a,Golam*r,Gulam*p | غلام
Farooq,Faruq,Farouq*r,Farooque*p | فاروق
Amir,Ameer*p,Amer*r | امیر
Zabih,Zabi,Zabee*r | ذبیح
Sami,Samee*p,Samie*r | سمیع
Hayat,Hayatt*r | حیات
Ezat,Izzat*p,Ezzat,Izat | عزت
Hedayat,Hidayat*p,Hedayet*r | هدایت
Inam,Enam*a,Inaam*r | انعام
Kalim,Kaleem*p | کلیم
Asad,Asadd*r | اسد
Saif,Sayf*r | سیف
Atiq,Ateeq*p,Ateq*r | عتیق
Lutf,Lotf*a,Lutuf*r | لطف
Hikmat,Hekmat*a | حکمت
Nasr,Nasar*r | نصر
Roh,Ruh,Rooh*p,Rouh*r | روح
Obaid,Ubaid*p,Ubayd*r | عبید
Sana,Sanaa*r | ثنا
Sibghat,Sebghat*a,Sibgat*r | صبغت
Zia,Ziya*r,Ziaa*r | ضیا
Hamd,Hamad*r | حمد
Abd | عبد
Rafi,Rafee*r,Rafie*r | رفیع
Shafi,Shafee*r,Shafie*r | شفیع
Wasi,Wasee*r | وسیع
Kifayat,Kefayat*a | کفایت
Barakat,Barkat*p | برکت
Karam,Keram*r | کرم
Mohib,Muhib*p | محب
Jalal,Jalaal*r | جلال
Shams,Shamas*p | شمس
Salah,Sallah*r | صلاح
Ala,Alla*r | علا,علاء
Moin,Mueen*p,Mohin*r | معین
Nizam,Nezam*a | نظام
Siraj,Seraj*a | سراج
Fakhr,Fakhar*p | فخر
Qutb,Qutub*p,Qotb*a | قطب
Mohi,Muhi*p,Mohy*r | محی
Kamal,Kamaal*r | کمال
Jamal,Jamaal*r | جمال
Abdul,Abdal*r,Abdol*a,Abdel*r,Abd-ul*p*r,Abdu*r | عبدال
ullah,ulla,ollah*a,ullah*p,ullah,allah*r,ulah*r,ullha*r | الله
uddin,uddeen*p,-ud-Din*p,-ud-din*r,oddin*a,addin*r,udin*r,uddin | الدین
"""

FEMALE_COMPONENTS = """
Fatima,Fatema*a,Fatimah*r,Fathima*r | فاطمه
Zainab,Zaynab,Zeinab*a,Zenab*r | زینب
Maryam,Mariam,Maryum*p,Mariyam*r | مریم
Khadija,Khadijah*r,Khadeeja*p,Khadeja*a | خدیجه
Aisha,Ayesha*p,Aysha*r,Aesha*a | عایشه,عائشه
Amina,Ameena*p,Aminah*r,Amena*a | آمنه
Parwin,Parveen*p,Perveen*p,Parween*r | پروین
Nasrin,Nasreen*p | نسرین
Shakila,Shakeela*p,Shakela*r | شکیله
Nasima,Naseema*p | نسیمه
Farzana,Farzanah*r | فرزانه
Fariba,Fareeba*r | فریبا
Sharifa,Shareefa*p,Sharefa*r | شریفه
Malalai,Malalay,Malala,Malali*r | ملالی | ملالۍ
Zarghona,Zarghuna,Zarghoona*p,Zarghonah*r | زرغونه
Palwasha,Palwashah*r,Palwsha*r | پلوشه
Nazanin,Nazaneen*p,Nazanen*r | نازنین
Hamida,Hameeda*p,Hameda*a | حمیده
Rahima,Raheema*p | رحیمه
Karima,Kareema*p | کریمه
Laila,Layla,Leila*a,Laila | لیلا,لیلی
Nadia,Nadiya*r | نادیه
Roya,Roya*a | رویا
Tahmina,Tahmeena*p | تهمینه
Sima,Seema*p | سیما
Marzia,Marziya*r,Marziah*r | مرضیه
Freshta,Fereshta,Fereshteh*a,Farishta*p | فرشته
Sabira,Sabera*a,Sabeera*r | صابره
Zakia,Zakiya,Zakiah*r | ذکیه
Hadia,Hadiya,Hadiah*r | هدیه
Nilofar,Nilufar,Niloofar*a,Nelofar*r | نیلوفر
Nargis,Narges*a,Nargiss*r | نرگس
Storai,Storay,Sturai*r | ستوری | ستورۍ
Spogmai,Spozhmai,Spogmay,Spojmai*r | سپوژمی | سپوږمۍ
Shukria,Shukriya,Shokria*a | شکریه
Halima,Haleema*p | حلیمه
Jamila,Jameela*p | جمیله
Latifa,Lateefa*p | لطیفه
Masuda,Masooda*p,Masouda*a | مسعوده
Parwana,Parvana*a | پروانه
Rukhsana,Rukhsanah*r,Rokhsana*a | رخسانه
Shazia,Shaziya*r | شازیه
Sadia,Saadia*p,Sadiya*r | سعدیه
Sumaira,Sumera*p,Somaira*a | سمیرا
Shaista,Shaesta*a,Shayesta*r | شایسته
Gulnaz,Gulnaaz*r,Golnaz*a | گلناز
Shirin,Shireen*p,Sherin*r | شیرین
Mahbooba,Mahbuba,Mehbooba*p | محبوبه
Zahra,Zohra*a,Zehra*p | زهرا,زهره
Hawa,Hawwa*r,Hava*a | حوا
Sakina,Sakeena*p | سکینه
Rabia,Rabiya,Rabea*r | رابعه
Habiba,Habeeba*p | حبیبه
Wahida,Waheeda*p | وحیده
Nafisa,Nafeesa*p | نفیسه
Nazifa,Nazeefa*p | نظیفه
Frozan,Forozan*a,Farozan*r | فروزان
Mursal,Morsal*a | مرسل
Madina,Medina*r,Madeena*p | مدینه
Salima,Saleema*p | سلیمه
Soraya,Suraya*p,Thuraya*r | ثریا
Shafiqa,Shafeeqa*p | شفیقه
Mahjabin,Mahjabeen*p | مهجبین
Lailuma,Lailoma*a,Lailuma*r | لیلما
Nooria,Nuria,Noorya*r | نوریه
Anisa,Aneesa*p | انیسه
Fawzia,Fauzia*p,Fowzia*a | فوزیه
Benazir,Benazeer*p,Bi Nazir*r | بینظیر
Zarmina,Zarmeena*p | زرمینه
Marwa,Marva*a | مروه
Mina,Meena*p | مینا
Nazo,Nazu,Naazo*r | نازو
Shabnam,Shabnum*p | شبنم
Shabana,Shabanah*r | شبانه
Shagufta,Shugufta,Shegofta*a | شگفته
Tabassum,Tabasum*r | تبسم
Farida,Fareeda*p | فریده
Asma,Asmaa*r | اسما,اسماء
Samira,Sameera*p | سمیره
Sajida,Sajeda*a | ساجده
Bushra,Boshra*a | بشری
Kubra,Kobra*a | کبری
Sughra,Soghra*a,Sugra*r | صغری
Adila,Adela*a | عادله
Basira,Baseera*p | بصیره
Nasiba,Naseeba*p | نسیبه
Nazia,Naziya*r | نازیه
Rahila,Raheela*p | راحله
Sahar,Sehar*p | سحر
Tahira,Tahera*a | طاهره
Wajiha,Wajeeha*p | وجیهه
Zulaikha,Zuleikha,Zolaikha*a | زلیخا
Gulalai,Gulalay,Gulali*r | گلالی | ګلالۍ
Khalida,Khaleda*a | خالده
Muzhda,Mozhda*a,Mujda*r | مژده
Parisa,Pareesa*r | پریسا
Hasina,Haseena*p | حسینه
Yasmin,Yasmeen*p,Yasamin*a | یاسمین
Sultana,Soltana*a | سلطانه
Gulshan,Golshan*a | گلشن
Pari,Paree*r | پری
Makai,Makay | مکی | مکۍ
Bas,Bass*r | بس
Zarina,Zareena*p | زرینه
Kulsum,Gulsoom*a,Kulsoom*p | کلثوم
Hajira,Hajera*a | هاجره
Razia,Raziya | رضیه
Saima,Saema*r | صائمه
Nazira,Nazeera*p | نذیره
Naghma,Naghmah*r | نغمه
Mahnaz,Mahnaaz*r | مهناز
Shugufa,Shogofa*a | شگوفه
Bibi,Bibee*r,Bebe*r,Bibi*a | بی بی,بیبی,بی‌بی
"""

# Full male given names.  Tokens are component keys; ":w" gives a relative weight.
MALE_GIVEN = """
Mohammad:3 | Ahmad:2 | Mahmood | Hamid | Zahir | Nabi | Karim | Rahim:0.7 | Jawad | Farid | Wahid | Rashid | Bashir
Nasir | Naseer:0.5 | Naveed | Fawad | Fahim | Hakim | Hashim | Idris | Ismail | Ibrahim | Yousuf | Yaqub | Younus
Ilyas | Ayub | Daud | Suleiman | Musa | Isa:0.5 | Haroon | Omar | Usman | Ali:1.5 | Hassan | Hussain | Khalid | Tariq
Bilal | Hamza | Zubair | Jamil | Jalil | Khalil | Sharif | Latif | Wali | Aziz | Akbar | Asghar | Haidar
Baryalai | Zalmai | Wais | Mirwais | Ajmal | Shafiq | Rafiq | Naqib | Najib | Mujib | Habib | Qadir | Sadiq | Siddiq
Javed | Rahmat | Nazar | Sakhi | Hazrat | Juma | Qurban | Zarif | Sabir | Shakir | Nazir | Munir | Basir | Mansoor
Masood | Mahboob | Matin | Rasool | Rauf | Sarwar | Shahid | Shoaib | Sohail | Tamim | Yasin | Zakir | Zaman
Zakaria | Ehsan | Emal | Atal | Bahram | Dilawar | Gulab | Khushal | Malang | Nawab | Painda | Sardar | Shahzad
Toor | Wazir | Janan | Jamshid | Jahangir | Amin | Nasim | Naeem | Qasim | Hanif | Aslam | Tahir | Asif | Akram
Anwar | Arif | Azim | Farooq | Amir | Sultan | Gul:1.5 | Noor | Sher:0.7 | Dost:0.5 | Agha:0.5 | Ghani | Rahman
Mohammad Nabi:1.5 | Mohammad Zahir | Mohammad Hashim | Mohammad Akbar | Mohammad Yousuf | Mohammad Ismail
Mohammad Ibrahim | Mohammad Naeem | Mohammad Wali | Mohammad Gul | Mohammad Jan | Mohammad Karim | Mohammad Rahim
Mohammad Ayub | Mohammad Hanif | Mohammad Sharif | Mohammad Daud | Mohammad Qasim | Mohammad Omar | Mohammad Usman
Mohammad Aslam | Mohammad Nasim | Mohammad Hassan | Mohammad Hussain | Mohammad Shafiq | Mohammad Rafiq
Mohammad Tahir | Mohammad Asif | Mohammad Amin | Mohammad Alam | Mohammad Anwar | Mohammad Arif | Mohammad Aziz
Mohammad Khan | Mohammad Sadiq | Mohammad Yasin | Mohammad Younus | Mohammad Idris | Mohammad Ali | Mohammad Haroon
Mohammad Farooq | Mohammad Jawad | Mohammad Bilal | Mohammad Hamid | Mohammad Rasool | Mohammad Sarwar
Najib ullah | Hamid ullah | Zabih ullah:1.5 | Sami ullah:1.5 | Kalim ullah | Rahmat ullah | Hayat ullah | Ehsan ullah
Inam ullah | Ezat ullah | Amin ullah | Habib ullah:1.3 | Hedayat ullah | Asad ullah | Noor ullah | Saif ullah
Atiq ullah | Lutf ullah | Hikmat ullah | Nasr ullah | Wahid ullah | Roh ullah | Khalil ullah | Obaid ullah
Sana ullah | Fazl ullah | Sibghat ullah | Zia ullah | Faiz ullah | Hamd ullah | Abd ullah:2 | Rafi ullah | Wasi ullah
Kifayat ullah | Barakat ullah | Karam ullah | Mohib ullah | Shafi ullah:0.5 | Aziz ullah | Karim ullah | Rahim ullah
Abdul Ghani | Abdul Rahman:1.5 | Abdul Rahim | Abdul Karim | Abdul Wahid | Abdul Qadir | Abdul Samad | Abdul Hakim
Abdul Jabbar | Abdul Basir | Abdul Hadi | Abdul Latif | Abdul Malik | Abdul Wali | Abdul Razaq | Abdul Ahad
Abdul Baqi | Abdul Rashid | Abdul Hamid | Abdul Majid | Abdul Manan | Abdul Qayum | Abdul Salam | Abdul Shakoor
Abdul Sattar | Abdul Wakil | Abdul Haq | Abdul Aziz | Abdul Wahab | Abdul Basit | Abdul Qahar | Abdul Khaliq
Abdul Ghafoor | Abdul Kabir | Abdul Matin | Abdul Saboor | Abdul Rauf | Abdul Jalil | Abdul Nasir
Naseer uddin | Jalal uddin | Shams uddin | Salah uddin | Ala uddin | Moin uddin | Nizam uddin | Siraj uddin
Fakhr uddin | Zia uddin | Qutb uddin | Mohi uddin | Kamal uddin | Jamal uddin
Gul Ahmad:1.3 | Gul Mohammad:1.3 | Gul Rahman | Gul Agha | Gul Zaman | Gul Khan | Sher Gul | Noor Gul | Zar Gul
Shah Gul | Lal Gul | Juma Gul | Wali Gul | Sakhi Gul
Ahmad Jan | Wali Jan | Amir Jan | Sardar Jan | Agha Jan | Gul Jan:0.6 | Nabi Jan:0.5 | Shah Jan
Sher Khan | Juma Khan | Amir Khan | Dost Khan:0.5 | Sardar Khan | Nawab Khan:0.5 | Zaman Khan | Sultan Khan
Ghulam Sakhi | Ghulam Haidar | Ghulam Nabi | Ghulam Rasool | Ghulam Farooq | Ghulam Sarwar | Ghulam Mohammad
Ghulam Hazrat | Ghulam Ali | Ghulam Qadir
Noor Ahmad:1.2 | Noor Mohammad:1.2 | Noor Rahman | Noor Agha | Noor Ali
Dost Mohammad | Faiz Mohammad | Taj Mohammad | Din Mohammad | Yar Mohammad | Wali Mohammad | Raz Mohammad
Pir Mohammad | Sultan Mohammad | Khan Mohammad | Juma Mohammad | Sher Mohammad | Ali Mohammad | Shah Mohammad
Sayed Ahmad:0.5 | Sayed Karim:0.4 | Sayed Rahim:0.4 | Sayed Jawad:0.3 | Mir Ahmad:0.4 | Mir Agha:0.4 | Shah Mahmood:0.5
Shah Wali:0.5 | Ahmad Shah:0.8 | Ahmad Zia:0.4 | Ahmad Wali:0.4 | Gul Zar:0.3
"""

FEMALE_GIVEN = """
Fatima:3 | Zainab:2 | Maryam:2 | Khadija:1.5 | Aisha:1.5 | Amina:1.5 | Parwin | Nasrin | Shakila | Nasima | Farzana
Fariba | Sharifa | Malalai | Zarghona | Palwasha | Nazanin | Hamida | Rahima | Karima | Laila | Nadia | Roya | Tahmina
Sima | Marzia | Freshta | Sabira | Zakia | Hadia | Nilofar | Nargis | Storai | Spogmai | Shukria | Halima | Jamila
Latifa | Masuda | Parwana | Rukhsana | Shazia | Sadia | Sumaira | Shaista | Gulnaz | Shirin | Mahbooba | Zahra
Hawa | Sakina | Rabia | Habiba | Wahida | Nafisa | Nazifa | Frozan | Mursal | Madina | Salima | Soraya | Shafiqa
Mahjabin | Lailuma | Nooria | Anisa | Fawzia | Benazir | Zarmina | Marwa | Mina | Nazo | Shabnam | Shabana | Shagufta
Tabassum | Farida | Asma | Samira | Sajida | Bushra | Kubra | Sughra | Adila | Basira | Nasiba | Nazia | Rahila
Sahar | Tahira | Wajiha | Zulaikha | Gulalai | Khalida | Muzhda | Parisa | Hasina | Yasmin | Sultana | Gulshan
Zarina | Kulsum | Hajira | Razia | Saima | Nazira | Naghma | Mahnaz | Shugufa
Bibi:1.5 | Bibi Gul:2.5 | Gul Bibi:1.8 | Bas Bibi | Zar Bibi | Shah Bibi | Bibi Hawa | Bibi Amina | Bibi Zainab
Bibi Fatima | Bibi Aisha | Gul Pari | Gul Makai | Gul Jan | Nazo Jan:0.6 | Shah Jan:0.4 | Gul:0.6 | Pari Gul:0.5
"""

HONORIFICS = {
    # key: (Latin variants, Arabic variants)
    "haji": ("Haji,Hajji*p,Haji Sahib*r,Alhaj*r,Al-Haj*r", "حاجی,الحاج"),
    "mullah": ("Mullah,Mulla,Molla*a,Mullo*r,Mulah*r", "ملا"),
    "mawlawi": ("Mawlawi,Maulvi*p,Molvi*p,Mowlawi*a,Mawlavi*r,Moulvi*p", "مولوی"),
    "qari": ("Qari,Kari*r,Qaari*r", "قاری"),
    "hafiz": ("Hafiz,Hafez*a,Hafeez*r", "حافظ"),
    "sayed": ("Sayed,Syed*p,Sayyed,Said*r,Sayad*r,Seyed*a", "سید"),
    "engineer": ("Engineer,Eng.,Eng*r,Engr.*p", "انجنیر,انجینیر"),
    "doctor": ("Dr.,Dr,Doctor,Daktar*a", "داکتر,دکتر"),
}

FAMILY_NAMES = """
Ahmadzai,Ahmadzay,Ahmedzai*p | احمدزی
Popalzai,Popalzay,Popolzai*r | پوپلزی
Barakzai,Barakzay,Barakzaey*r | بارکزی
Achakzai,Achekzai,Achakzay | اچکزی | اڅکزی
Noorzai,Nurzai,Noorzay | نورزی
Alokozai,Alikozai,Alakozai | الکوزی,علیکوزی
Ishaqzai,Ishaqzay,Ishakzai*p,Eshaqzai*a | اسحاقزی
Mohmand,Momand,Mehmand*p | مهمند,مومند
Shinwari,Shinwary,Shinwarai*r | شینواری
Afridi,Afreedi*p,Aphridi*r | آفریدی,افریدی
Yousafzai,Yusufzai,Yousufzai | یوسفزی
Khogiani,Khugiani,Khogyani | خوگیانی | خوګیانی
Safi,Saafi*r | صافی
Wardak,Wardag*r,Vardak*a | وردک
Durrani,Durani,Dorrani*a | درانی
Hotak,Hotaki,Hotek*r | هوتک
Tokhi,Tokhee*r,Tukhi | توخی
Kakar,Kakkar*p,Kaker*r | کاکر | کاکړ
Mangal,Mangel*r | منگل | منګل
Zadran,Zadraan*r,Dzadran*r | زدران | ځدراڼ
Jaji,Jajee*r | جاجی
Sulaimankhel,Sulemankhel*p,Suleimankhel | سلیمانخیل
Kharoti,Kharotai*r,Kharooti*r | خروتی | خروټی
Andar,Andarr*r | اندر | اندړ
Stanikzai,Stanekzai,Stanakzai*r | ستانکزی
Sahak,Saahak*r | ساهک
Sadozai,Saddozai*p | سدوزی
Mohammadzai,Muhammadzai*p,Mohammadzay | محمدزی
Niazi,Niazai*r,Neyazi*a | نیازی
Taraki,Tarakai*r,Tarakay | ترکی | تره کی
Tarin,Tareen*p | ترین
Sadat,Saadat*r,Sadaat*r | سادات
Hashimi,Hashemi*a,Hashmi*p | هاشمی
Hussaini,Husaini*p,Hosseini*a | حسینی
Rahimi,Raheemi*p,Rahemi*r | رحیمی
Karimi,Kareemi*p | کریمی
Ahmadi,Ahmady*r,Ahmedi*p | احمدی
Mohammadi,Muhammadi*p,Mohamadi*r | محمدی
Hakimi,Hakeemi*p | حکیمی
Nazari,Nazary*r | نظری
Sultani,Soltani*a | سلطانی
Jalali,Jalaly*r | جلالی
Qaderi,Qadiri*p,Kadiri*r | قادری
Naseri,Nasiri*p,Nasery*r | ناصری
Habibi,Habeebi*p | حبیبی
Azizi,Azeezi*p | عزیزی
Amiri,Ameeri*p | امیری
Haidari,Haideri*p,Heydari*a | حیدری
Samadi,Samady*r | صمدی
Rasuli,Rasooli*p | رسولی
Sharifi,Shareefi*p | شریفی
Noori,Nuri,Noory*r | نوری
Rahmani,Rehmani*p | رحمانی
Hamidi,Hameedi*p | حمیدی
Sediqi,Siddiqi*p,Sadiqi | صدیقی
Faizi,Fayzi*a | فیضی
Osmani,Usmani*p | عثمانی
Akbari,Akbary*r | اکبری
Popal,Popol*r | پوپل
Kohistani,Kuhistani*r,Kohestani*a | کوهستانی
Panjshiri,Panjsheri*a | پنجشیری
Logari,Lowgari*r | لوگری | لوګری
Zazai,Zazay,Dzadzai*r | زازی | ځاځی
Waziri,Wazeeri*p | وزیری
Mashwani,Mishwani*r | مشوانی
Amarkhel,Umarkhel*p,Omarkhel*a | عمرخیل
Ibrahimkhel,Ebrahimkhel*a | ابراهیمخیل
Kuchi,Kochi*a | کوچی
Lodin,Ludin | لودین
Khan,Khaan*r | خان
Afghan,Afghaan*r | افغان
Sahebzada,Sahibzada*p,Sahibzada | صاحبزاده
"""

# Latin variants ; Dari ; Pashto(opt) ; capital Latin variants|Arabic ; weight ; region
PROVINCES = """
Kabul,Kabol*a,Kaboul*r ; کابل ; - ; - ; 8 ; center
Kapisa,Kapissa*r ; کاپیسا ; - ; Mahmud Raqi,Mahmood Raqi|محمود راقی ; 1.5 ; center
Parwan,Parvan*a,Perwan*r ; پروان ; - ; Charikar,Charikaar|چاریکار ; 2 ; center
Wardak,Maidan Wardak,Maydan Wardak,Wardag*r ; وردک,میدان وردک ; - ; Maidan Shahr,Maydan Shahr|میدان شهر ; 2 ; center
Logar,Lowgar,Loghar*r ; لوگر ; لوګر ; Pul-e Alam,Puli Alam,Pul-i-Alam|پل علم ; 3 ; center
Nangarhar,Ningarhar,Nengarhar,Nangrahar,Nangarhaar*r ; ننگرهار ; ننګرهار ; Jalalabad,Jalal Abad,Jelalabad|جلال آباد,جلال‌آباد ; 16 ; east
Laghman,Lagman*r,Laghmaan*r ; لغمان ; - ; Mehtarlam,Mihtarlam|مهترلام ; 5 ; east
Panjshir,Panjsher,Panjsheer*p ; پنجشیر ; - ; Bazarak|بازارک ; 0.3 ; center
Baghlan,Baghlaan*r,Baglan*r ; بغلان ; - ; Pul-e Khumri,Puli Khumri,Pol-e-Khomri|پلخمری,پل خمری ; 3 ; north
Bamyan,Bamiyan,Bamian ; بامیان ; - ; - ; 0.5 ; center
Ghazni,Ghazny*r,Ghazani*r ; غزنی ; - ; - ; 4 ; southeast
Paktika,Paktica*r,Paktyka*r ; پکتیکا ; - ; Sharana,Sharan|شرنه ; 4 ; paktika
Paktia,Paktiya,Paktya*a ; پکتیا ; - ; Gardez,Gardiz|گردیز ; 5 ; paktia
Khost,Khowst,Khoost*r ; خوست ; - ; - ; 5 ; khost
Kunar,Konar*a,Kunarr*r ; کنر ; کونړ ; Asadabad,Asad Abad|اسعدآباد,اسدآباد ; 6 ; east
Nuristan,Nooristan,Noristan*r ; نورستان ; - ; Parun|پارون ; 1 ; east
Badakhshan,Badakshan,Badakhshaan*r ; بدخشان ; - ; Faizabad,Fayzabad|فیض آباد ; 1 ; north
Takhar,Takhaar*r ; تخار ; - ; Taloqan,Taluqan|تالقان ; 1 ; north
Kunduz,Kondoz*a,Qunduz,Konduz ; کندز,قندوز ; - ; - ; 4 ; north
Samangan,Samangaan*r ; سمنگان ; سمنګان ; Aybak,Aibak|ایبک ; 0.5 ; north
Balkh,Balk*r ; بلخ ; - ; Mazar-e Sharif,Mazar-i-Sharif,Mazar|مزار شریف ; 2 ; north
Sar-e Pol,Sar-e-Pul,Saripul,Sar-i-Pul,Sarepul ; سرپل ; - ; - ; 0.5 ; north
Ghor,Ghowr,Ghur ; غور ; - ; Chaghcharan,Firozkoh|چغچران ; 0.4 ; west
Daykundi,Daikundi,Dai Kundi ; دایکندی ; - ; Nili|نیلی ; 0.3 ; center
Uruzgan,Oruzgan,Urozgan,Orozgan ; ارزگان,اروزگان ; ارزګان ; Tarinkot,Tirinkot|ترینکوت ; 2 ; south
Zabul,Zabol*a,Zaabul*r ; زابل ; - ; Qalat,Kalat|قلات ; 2 ; south
Kandahar,Qandahar,Kandhar*p,Qandehar*r ; کندهار,قندهار ; - ; - ; 12 ; south
Jawzjan,Jowzjan,Jozjan ; جوزجان ; - ; Sheberghan,Shibirghan|شبرغان ; 0.7 ; north
Faryab,Faryaab*r,Fariab ; فاریاب ; - ; Maymana,Meymaneh|میمنه ; 0.7 ; north
Helmand,Hilmand,Helmend*r ; هلمند ; - ; Lashkar Gah,Lashkargah|لشکرگاه,لشکر گاه ; 6 ; southwest
Badghis,Badghes*r,Badgheis*r ; بادغیس ; - ; Qala-e Naw,Qala-i-Naw|قلعه نو ; 0.4 ; west
Herat,Hirat,Heraat*r ; هرات ; - ; - ; 1 ; west
Farah,Farrah*r ; فراه ; - ; - ; 1 ; southwest
Nimroz,Nimruz,Nimrouz*r ; نیمروز ; - ; Zaranj|زرنج ; 1 ; southwest
"""

DISTRICTS = {
    "nangarhar": "Behsud,Bihsud|بهسود; Surkh Rod,Surkhrod|سرخرود; Khogyani,Khogiani|خوگیانی; Shinwar|شینوار; Achin,Achen|اچین; "
                 "Rodat|رودات; Kama|کامه; Mohmand Dara,Momand Dara|مومند دره; Chaparhar|چپرهار; Bati Kot|بتی کوت; "
                 "Pachir Aw Agam,Pachir Wa Agam|پچیر و اگام; Sherzad|شیرزاد; Hisarak|حصارک; Lalpur|لعلپور; Goshta|گوشته; "
                 "Kot|کوت; Nazyan|نازیان; Deh Bala,Dih Bala|ده بالا; Jalalabad|جلال آباد",
    "kunar": "Asadabad|اسعدآباد; Chawkay,Chowkay|چوکی; Shigal|شیگل; Khas Kunar|خاص کنر; Dangam|دانگام; Sarkani|سرکانی; "
             "Marawara|مروره; Narang|نرنگ; Watapur|وته پور",
    "kandahar": "Kandahar City,Kandahar|کندهار; Daman|دامان; Arghandab|ارغنداب; Spin Boldak|سپین بولدک; Panjwai,Panjwayi|پنجوایی; "
                "Zhari|ژړی,ژری; Maiwand,Maywand|میوند; Arghistan|ارغستان; Shah Wali Kot|شاه ولی کوت; Dand|دند",
    "kabul": "Kabul City,Kabul|کابل; Paghman|پغمان; Bagrami|بگرامی; Deh Sabz|ده سبز; Char Asiab,Chahar Asyab|چهار آسیاب; "
             "Surobi,Sarobi|سروبی; Shakardara|شکردره; Musahi|موسهی",
    "laghman": "Mehtarlam|مهترلام; Qarghayi|قرغه‌یی; Alingar|علینگار; Alishing|علیشنگ; Dawlat Shah|دولت شاه",
    "helmand": "Lashkar Gah,Lashkargah|لشکرگاه; Nad Ali|ناد علی; Nahr-e Saraj,Nahri Saraj|نهر سراج; Garmsir|گرمسیر; "
               "Musa Qala|موسی قلعه; Sangin|سنگین; Nawa|ناوه; Marja|مارجه",
    "paktia": "Gardez|گردیز; Zurmat|زرمت; Ahmadabad|احمدآباد; Sayed Karam|سید کرم; Chamkani|چمکنی; Jaji|جاجی; Laja Mangal|لجه منگل",
    "khost": "Khost City,Khost,Matun|خوست; Sabari|صبری; Tani|تنی; Gurbuz|گربز; Nadir Shah Kot|نادرشاه کوت; Spera|سپیره; "
             "Mandozai|مندوزی; Bak|باک",
    "logar": "Pul-e Alam|پل علم; Mohammad Agha|محمد آغه; Baraki Barak|برکی برک; Charkh|چرخ; Azra|ازره; Khoshi|خوشی",
    "ghazni": "Ghazni City,Ghazni|غزنی; Andar|اندر; Qarabagh|قره باغ; Jaghori|جاغوری; Muqur|مقر; Giro|گیرو; Waghaz|وغز",
    "kunduz": "Kunduz City,Kunduz|کندز; Imam Sahib|امام صاحب; Chahar Dara|چهار دره; Khan Abad|خان آباد; Archi|ارچی",
    "baghlan": "Pul-e Khumri|پلخمری; Baghlan-e Jadid|بغلان جدید; Dushi|دوشی; Nahrin|نهرین",
    "paktika": "Sharana|شرنه; Urgun|ارگون; Barmal|برمل; Gomal|گومل; Mata Khan|مته خان; Yahya Khel|یحیی خیل",
    "zabul": "Qalat|قلات; Shahjoy,Shah Joy|شاه جوی; Mizan|میزان",
    "uruzgan": "Tarinkot|ترینکوت; Dehrawud,Deh Rawud|دهراود; Chora|چوره",
    "wardak": "Maidan Shahr|میدان شهر; Saydabad,Sayedabad|سیدآباد; Jalrez|جلریز; Chak|چک",
    "parwan": "Charikar|چاریکار; Bagram|بگرام; Jabal Saraj|جبل السراج",
    "kapisa": "Mahmud Raqi|محمود راقی; Tagab|تگاب; Nijrab|نجراب",
    "balkh": "Mazar-e Sharif|مزار شریف; Balkh|بلخ; Chimtal|چمتال; Dawlatabad|دولت آباد",
    "herat": "Herat City,Herat|هرات; Injil|انجیل; Guzara|گذره; Shindand|شیندند",
    "farah": "Farah City,Farah|فراه; Bala Buluk|بالابلوک",
    "nimroz": "Zaranj|زرنج; Chahar Burjak|چهار برجک",
}

CITIES = """
Peshawar,Pishawar*a,Pesh*r,Peshawer*r | پشاور | پشاور
Karachi,Karachy*r,Krachi*r | کراچی | کراچی
Quetta,Queta*r,Kwata*r,Koita*a | کوئٹہ | کویته
Islamabad,Islam Abad*r,Isb*r | اسلام آباد | اسلام آباد
Rawalpindi,Pindi*r,Rawalpindy*r | راولپنڈی | راولپندی
Lahore,Lahor*a | لاہور | لاهور
Nowshera,Naushera*p,Nowshehra*r | نوشہرہ | نوشهره
Mardan,Mardaan*r | مردان | مردان
Kohat,Kohaat*r | کوہاٹ | کوهات
Haripur,Hari Pur*r | ہری پور | هری پور
Attock,Atak*r | اٹک | اتک
Swabi,Sawabi*r | صوابی | صوابی
Charsadda,Charsada*r | چارسدہ | چارسده
Mansehra,Mansehra*r | مانسہرہ | مانسهره
Pishin,Pashin*r | پشین | پشین
Chaman,Chamman*r | چمن | چمن
Loralai,Loralay*r | لورالائی | لورالایی
Hyderabad,Haidarabad*r | حیدرآباد | حیدرآباد
Abbottabad,Abbotabad*r | ایبٹ آباد | ایبت آباد
Dera Ismail Khan,D.I. Khan,DI Khan,D I Khan*r | ڈیرہ اسماعیل خان | دیره اسماعیل خان
Bannu,Banu*r | بنوں | بنو
Jalozai Camp,Jalozai,Jalozai camp*r | جلوزئی کیمپ | کمپ جلوزی
Shamshatoo Camp,Shamshatu,Shamshatoo*r | شمشتو کیمپ | کمپ شمشتو
Board Bazaar,Board Bazar,Boardbazar*r | بورڈ بازار | بورد بازار
Sohrab Goth,Sohrab Goth Karachi,Sorab Goth*r | سہراب گوٹھ | سهراب گوت
Hayatabad,Hayatabad Peshawar | حیات آباد | حیات آباد
Faisalabad,Faislabad*r | فیصل آباد | فیصل آباد
Multan,Multaan*r | ملتان | ملتان
Kacha Garhi,Kacha Gari*r | کچا گڑھی | کچه گړی
Tarnol,Tarnoul*r | ترنول | ترنول
"""
CITY_REGION = {
    # crossing group -> {city key: weight}
    "east": {"peshawar": 34, "karachi": 8, "islamabad": 7, "rawalpindi": 6, "nowshera": 6, "mardan": 4, "kohat": 3,
             "haripur": 4, "attock": 3, "swabi": 3, "charsadda": 2, "mansehra": 2, "lahore": 4, "jalozaicamp": 2,
             "shamshatoocamp": 2, "boardbazaar": 2, "hayatabad": 1.5, "abbottabad": 1, "kachagarhi": 1, "tarnol": 1,
             "faisalabad": 0.5, "quetta": 1},
    "south": {"quetta": 40, "karachi": 25, "pishin": 8, "chaman": 8, "loralai": 3, "hyderabad": 3, "sohrabgoth": 3,
              "lahore": 2, "multan": 1, "peshawar": 3, "islamabad": 1},
    "se": {"bannu": 12, "deraismailkhan": 10, "peshawar": 30, "karachi": 15, "kohat": 10, "islamabad": 8,
           "rawalpindi": 5, "quetta": 3, "lahore": 2},
}

SITES = {
    # name: (code, kind)
    "Torkham": ("TKM", "crossing"),
    "Spin Boldak": ("SBD", "crossing"),
    "Ghulam Khan": ("GKH", "crossing"),
    "Angoor Adda": ("AAD", "crossing"),
    "Dand-e-Patan": ("DEP", "crossing"),
    "Bahramcha": ("BRC", "crossing"),
    "Omari Camp": ("OMC", "centre"),
    "Takhta Pul Reception Centre": ("TPC", "centre"),
    "Jalalabad Reception Centre": ("JRC", "centre"),
    "Kandahar Reception Centre": ("KRC", "centre"),
    "Kabul Transit Centre": ("KTC", "centre"),
}
REGION_SITES = {
    "east": [("Torkham", 78), ("Omari Camp", 15), ("Jalalabad Reception Centre", 7)],
    "south": [("Spin Boldak", 78), ("Takhta Pul Reception Centre", 15), ("Kandahar Reception Centre", 7)],
    "southwest": [("Spin Boldak", 50), ("Bahramcha", 35), ("Takhta Pul Reception Centre", 10), ("Kandahar Reception Centre", 5)],
    "khost": [("Ghulam Khan", 50), ("Torkham", 40), ("Omari Camp", 10)],
    "paktika": [("Angoor Adda", 50), ("Torkham", 25), ("Ghulam Khan", 15), ("Spin Boldak", 10)],
    "paktia": [("Dand-e-Patan", 40), ("Torkham", 45), ("Ghulam Khan", 15)],
    "southeast": [("Torkham", 55), ("Spin Boldak", 35), ("Angoor Adda", 10)],
    "center": [("Torkham", 65), ("Spin Boldak", 20), ("Omari Camp", 8), ("Kabul Transit Centre", 7)],
    "north": [("Torkham", 70), ("Spin Boldak", 20), ("Kabul Transit Centre", 10)],
    "west": [("Spin Boldak", 45), ("Torkham", 35), ("Bahramcha", 10), ("Kabul Transit Centre", 10)],
}
SECOND_SITES = {  # where a household registers again (reception centres near destination, or other crossing)
    "east": [("Jalalabad Reception Centre", 40), ("Omari Camp", 25), ("Torkham", 20), ("Kabul Transit Centre", 15)],
    "south": [("Kandahar Reception Centre", 40), ("Takhta Pul Reception Centre", 25), ("Spin Boldak", 25), ("Kabul Transit Centre", 10)],
    "other": [("Kabul Transit Centre", 35), ("Jalalabad Reception Centre", 20), ("Kandahar Reception Centre", 15),
              ("Torkham", 15), ("Spin Boldak", 15)],
}


# ---------------------------------------------------------------------------
# Lexicon parsing
# ---------------------------------------------------------------------------

class Choice:
    """Weighted choice with precomputed cumulative weights."""
    __slots__ = ("items", "cum", "total")

    def __init__(self, items, weights):
        self.items = list(items)
        self.cum = []
        s = 0.0
        for w in weights:
            s += w
            self.cum.append(s)
        self.total = s

    def pick(self, rng):
        i = bisect.bisect_right(self.cum, rng.random() * self.total)
        return self.items[min(i, len(self.items) - 1)]


def wchoice(pairs):
    return Choice([a for a, _ in pairs], [b for _, b in pairs])


def parse_variants(s):
    out = []
    for v in s.split(","):
        v = v.strip()
        if not v:
            continue
        tags = set()
        while "*" in v:
            i = v.rfind("*")
            tags.add(v[i + 1:])
            v = v[:i]
        out.append((v, frozenset(tags)))
    return out


LAT_PROFILES = ("af", "pk", "std")


def lat_weights(variants, prof):
    ws = []
    for i, (v, t) in enumerate(variants):
        w = 6.0 if i == 0 else 2.0
        if "r" in t:
            w = 0.5
        if prof == "pk":
            if "p" in t:
                w *= 3
            if "a" in t:
                w *= 0.4
        elif prof == "af":
            if "a" in t:
                w *= 3
            if "p" in t:
                w *= 0.4
        else:
            if i == 0:
                w *= 3
        ws.append(w)
    return ws


def mkkey(s):
    return s.lower().replace(" ", "").replace("-", "").replace(".", "")


class Entry:
    __slots__ = ("key", "lat", "latc", "ar", "arc", "ps", "extra")

    def __init__(self, lat, ar, ps=None):
        self.lat = lat
        self.key = mkkey(lat[0][0])
        self.latc = {p: Choice([v for v, _ in lat], lat_weights(lat, p)) for p in LAT_PROFILES}
        self.ar = ar
        self.arc = Choice(ar, [5.0] + [1.0] * (len(ar) - 1))
        self.ps = ps
        self.extra = None


def parse_lex(text):
    lex = {}
    for line in text.strip().split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = [p.strip() for p in line.split("|")]
        lat = parse_variants(parts[0])
        ar = [a.strip() for a in parts[1].split(",") if a.strip()] if len(parts) > 1 else []
        ps = None
        if len(parts) > 2 and parts[2].strip():
            ps = [a.strip() for a in parts[2].split(",") if a.strip()]
        e = Entry(lat, ar, ps)
        lex[e.key] = e
    return lex


LEX = parse_lex(MALE_COMPONENTS)
for _k, _e in parse_lex(FEMALE_COMPONENTS).items():
    LEX.setdefault(_k, _e)
FAM = parse_lex(FAMILY_NAMES)
HON = {}
for _k, (_l, _a) in HONORIFICS.items():
    _e = Entry(parse_variants(_l), [x for x in _a.split(",")])
    HON[_k] = _e


def parse_given(text):
    fixed = random.Random(20240601)   # name frequencies are part of the "world", not of the seed
    names, weights = [], []
    for chunk in text.replace("\n", "|").split("|"):
        chunk = chunk.strip()
        if not chunk:
            continue
        w = 1.0
        if ":" in chunk:
            chunk, ws = chunk.rsplit(":", 1)
            w = float(ws)
        toks = tuple(mkkey(t) for t in chunk.split())
        for t in toks:
            if t not in LEX:
                raise SystemExit("unknown name component %r in %r" % (t, chunk))
        names.append(toks)
        weights.append(w * fixed.lognormvariate(0, 0.4))
    return names, Choice(names, weights)


MALE_NAMES, MALE_CHOICE = parse_given(MALE_GIVEN)
FEMALE_NAMES, FEMALE_CHOICE = parse_given(FEMALE_GIVEN)
FAM_CHOICE = Choice(list(FAM.keys()), [1.0 / (i + 8) ** 0.7 * 10 for i in range(len(FAM))])


class Province:
    __slots__ = ("key", "lat", "latc", "ar", "ps", "cap_lat", "cap_ar", "weight", "region", "districts")


def parse_provinces():
    provs = []
    for line in PROVINCES.strip().split("\n"):
        parts = [p.strip() for p in line.split(";")]
        p = Province()
        p.lat = parse_variants(parts[0])
        p.key = mkkey(p.lat[0][0])
        p.latc = {pr: Choice([v for v, _ in p.lat], lat_weights(p.lat, pr)) for pr in LAT_PROFILES}
        p.ar = [a.strip() for a in parts[1].split(",")]
        p.ps = None if parts[2] == "-" else [a.strip() for a in parts[2].split(",")]
        if parts[3] == "-":
            p.cap_lat, p.cap_ar = None, None
        else:
            cl, ca = parts[3].split("|")
            p.cap_lat = [x.strip() for x in cl.split(",")]
            p.cap_ar = [x.strip() for x in ca.split(",")]
        p.weight = float(parts[4])
        p.region = parts[5]
        p.districts = []
        for d in DISTRICTS.get(p.key, "").split(";"):
            d = d.strip()
            if not d:
                continue
            l, a = d.split("|")
            p.districts.append(([x.strip() for x in l.split(",")], [x.strip() for x in a.split(",")]))
        provs.append(p)
    assert len(provs) == 34, len(provs)
    return provs


PROVS = parse_provinces()
PROV_BY_KEY = {p.key: p for p in PROVS}
PROV_CHOICE = Choice(PROVS, [p.weight for p in PROVS])


def parse_cities():
    out = {}
    for line in CITIES.strip().split("\n"):
        parts = [p.strip() for p in line.split("|")]
        lat = parse_variants(parts[0])
        e = Entry(lat, [parts[1]])
        e.extra = parts[2]   # Dari spelling
        out[e.key] = e
    return out


CITY = parse_cities()
CITY_CHOICE = {}
for _r, _d in CITY_REGION.items():
    for _k in _d:
        assert _k in CITY, _k
    CITY_CHOICE[_r] = Choice(list(_d.keys()), list(_d.values()))

SITE_CHOICE = {r: wchoice(v) for r, v in REGION_SITES.items()}
SECOND_SITE_CHOICE = {r: wchoice(v) for r, v in SECOND_SITES.items()}

# ---------------------------------------------------------------------------
# Text-level noise
# ---------------------------------------------------------------------------

QWERTY = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]
NEIGH = {}
for _r, _row in enumerate(QWERTY):
    for _i, _c in enumerate(_row):
        n = []
        if _i > 0:
            n.append(_row[_i - 1])
        if _i < len(_row) - 1:
            n.append(_row[_i + 1])
        for _rr in (_r - 1, _r + 1):
            if 0 <= _rr < 3:
                for _j in (_i - 1, _i, _i + 1):
                    if 0 <= _j < len(QWERTY[_rr]):
                        n.append(QWERTY[_rr][_j])
        NEIGH[_c] = "".join(n)

VOWELS = "aeiou"


def typo_latin(s, rng):
    letters = [i for i, c in enumerate(s) if c.isalpha()]
    if len(letters) < 3:
        return s, None
    op = rng.random()
    i = rng.choice(letters[1:])       # rarely touch the first letter
    c = s[i]
    if op < 0.28:   # drop
        return s[:i] + s[i + 1:], "drop"
    if op < 0.48:   # double
        return s[:i] + c + s[i:], "double"
    if op < 0.68:   # swap with next letter
        if i + 1 < len(s) and s[i + 1].isalpha():
            return s[:i] + s[i + 1] + c + s[i + 2:], "swap"
        return s[:i] + s[i + 1:], "drop"
    if op < 0.88:   # neighbouring key
        lc = c.lower()
        if lc in NEIGH:
            r = rng.choice(NEIGH[lc])
            r = r.upper() if c.isupper() else r
            return s[:i] + r + s[i + 1:], "key"
        return s, None
    # vowel confusion
    if c.lower() in VOWELS:
        r = rng.choice([v for v in VOWELS if v != c.lower()])
        r = r.upper() if c.isupper() else r
        return s[:i] + r + s[i + 1:], "vowel"
    return s[:i] + s[i + 1:], "drop"


AR_CONFUSE = {}
for _grp in ["بپتثن", "جحخچ", "دذ", "رزژ", "سش", "صض", "طظ", "عغ", "فق", "کگ", "یئ"]:
    for _c in _grp:
        AR_CONFUSE[_c] = _grp.replace(_c, "")
AR_LETTER = set("ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیيكةۀئؤآأإټډړږښځڅڼګېۍہے")


def typo_arabic(s, rng):
    letters = [i for i, c in enumerate(s) if c in AR_LETTER]
    if len(letters) < 3:
        return s, None
    i = rng.choice(letters[1:])
    c = s[i]
    op = rng.random()
    if op < 0.30:
        return s[:i] + s[i + 1:], "drop"
    if op < 0.45:
        return s[:i] + c + s[i:], "double"
    if op < 0.62:
        if i + 1 < len(s) and s[i + 1] in AR_LETTER:
            return s[:i] + s[i + 1] + c + s[i + 2:], "swap"
        return s[:i] + s[i + 1:], "drop"
    if c in AR_CONFUSE:
        return s[:i] + rng.choice(AR_CONFUSE[c]) + s[i + 1:], "dots"
    return s[:i] + s[i + 1:], "drop"


# letters that do not connect to the following letter (no tatweel after them)
AR_NONJOIN = set("اآأإدذرزژوؤۀةړډږ ")
DIACRITICS = ["\u064e", "\u0650", "\u064f", "\u0651", "\u0652"]


def add_tatweel(s, rng):
    cand = [i for i in range(len(s) - 1) if s[i] in AR_LETTER and s[i] not in AR_NONJOIN and s[i + 1] in AR_LETTER]
    if not cand:
        return s
    i = rng.choice(cand)
    return s[:i + 1] + TATWEEL * rng.choice((1, 1, 2, 3)) + s[i + 1:]


def add_diacritics(s, rng):
    cand = [i for i, c in enumerate(s) if c in AR_LETTER]
    if not cand:
        return s
    for i in sorted(rng.sample(cand, min(len(cand), rng.choice((1, 2, 3)))), reverse=True):
        s = s[:i + 1] + rng.choice(DIACRITICS) + s[i + 1:]
    return s


def kb_apply(s, kb, rng, female=False):
    """Keyboard code-point mixing: Persian vs Arabic yeh/kaf/teh marbuta."""
    if kb == "per":
        if female and s.endswith("ه") and rng.random() < 0.02:
            s = s[:-1] + "ة"
        return s
    if kb == "arb":
        s = s.replace("ک", "ك").replace("ی", "ي")
        if rng.random() < 0.3:
            s = " ".join(w[:-1] + "ى" if w.endswith("ي") else w for w in s.split(" "))
        if female and s.endswith("ه") and rng.random() < 0.5:
            s = s[:-1] + "ة"
        return s
    # mixed keyboard: each letter independently
    out = []
    for c in s:
        if c == "ی" and rng.random() < 0.5:
            c = "ي"
        elif c == "ک" and rng.random() < 0.5:
            c = "ك"
        out.append(c)
    return "".join(out)


DRIFT = [("ee", "i"), ("i", "ee"), ("oo", "u"), ("u", "oo"), ("ou", "u"), ("o", "u"), ("u", "o"), ("e", "i"),
         ("i", "e"), ("q", "k"), ("w", "v"), ("v", "w"), ("kh", "k"), ("gh", "g"), ("aa", "a"), ("a", "aa"),
         ("ai", "ay"), ("ay", "ai"), ("z", "zz"), ("ss", "s"), ("th", "t"), ("y", "i"), ("a", "e")]


def translit_drift(v, rng):
    low = v.lower()
    for _ in range(5):
        a, b = rng.choice(DRIFT)
        idx = low.find(a, 1)
        if idx > 0:
            if v[idx].isupper():
                b = b.capitalize()
            return v[:idx] + b + v[idx + len(a):]
    if v.endswith("a"):
        return v + "h"
    return v


def to_digits(s, kind):
    if kind == "lat" or not s:
        return s
    table = PERSIAN_DIGITS if kind == "per" else ARABIC_DIGITS
    return "".join(table[ord(c) - 48] if "0" <= c <= "9" else c for c in s)


# ---------------------------------------------------------------------------
# Dates
# ---------------------------------------------------------------------------

def gregorian_to_jalali(gy, gm, gd):
    g_d_m = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
    gy2 = gy + 1 if gm > 2 else gy
    days = 355666 + (365 * gy) + ((gy2 + 3) // 4) - ((gy2 + 99) // 100) + ((gy2 + 399) // 400) + gd + g_d_m[gm - 1]
    jy = -1595 + (33 * (days // 12053))
    days %= 12053
    jy += 4 * (days // 1461)
    days %= 1461
    if days > 365:
        jy += (days - 1) // 365
        days = (days - 1) % 365
    if days < 186:
        jm = 1 + (days // 31)
        jd = 1 + (days % 31)
    else:
        jm = 7 + ((days - 186) // 30)
        jd = 1 + ((days - 186) % 30)
    return jy, jm, jd


def age_on(dob, d):
    return d.year - dob.year - ((d.month, d.day) < (dob.month, dob.day))


REF = dt.date(2024, 10, 1)
D_MIN = dt.date(2023, 9, 15)
D_MAX = dt.date(2026, 3, 31)
WAVES = wchoice([((dt.date(2023, 9, 15), dt.date(2023, 12, 31)), 28), ((dt.date(2024, 1, 1), dt.date(2024, 3, 31)), 6),
                 ((dt.date(2024, 4, 1), dt.date(2024, 12, 31)), 14), ((dt.date(2025, 1, 1), dt.date(2025, 3, 31)), 6),
                 ((dt.date(2025, 4, 1), dt.date(2025, 7, 31)), 28), ((dt.date(2025, 8, 1), dt.date(2025, 11, 30)), 12),
                 ((dt.date(2025, 12, 1), dt.date(2026, 3, 31)), 6)])


def wave_date(rng):
    a, b = WAVES.pick(rng)
    return a + dt.timedelta(days=rng.randint(0, (b - a).days))


# ---------------------------------------------------------------------------
# Clerk (typing) profiles
# ---------------------------------------------------------------------------

class Clerk:
    """How one desk types one registration event (or one tracing request)."""
    __slots__ = ("script", "lprof", "aprof", "kb", "digits", "case", "prov_ar", "place_ar", "cache", "gf_rate",
                 "copy_rate", "rel_habit", "age_habit")

    def __init__(self, rng, ar_share=0.46, script=None):
        # script may be imposed: a household re-registering is often typed in the other script
        self.script = script if script else ("ar" if rng.random() < ar_share else "lat")
        self.lprof = wchoice([("af", 55), ("pk", 25), ("std", 20)]).pick(rng)
        self.aprof = wchoice([("fa", 55), ("ps", 37), ("ur", 8)]).pick(rng)
        self.kb = wchoice([("per", 68), ("arb", 16), ("mix", 16)]).pick(rng)
        if self.script == "ar":
            self.digits = wchoice([("lat", 45), ("per", 40), ("ara", 15)]).pick(rng)
            self.prov_ar = rng.random() < 0.75
            self.place_ar = rng.random() < 0.55
            self.gf_rate = 0.60
        else:
            self.digits = "per" if rng.random() < 0.02 else "lat"
            self.prov_ar = rng.random() < 0.05
            self.place_ar = False
            self.gf_rate = 0.42
        self.case = wchoice([("title", 84), ("upper", 11), ("lower", 3), ("mixed", 2)]).pick(rng)
        self.cache = {}
        self.copy_rate = 0.7
        # Desk habits that differ from clerk to clerk, so that the same household typed at two desks
        # reads differently: some clerks record married women by their husband's name as a rule,
        # some ask only "how old are you?" and never type a birth date.
        self.rel_habit = 3.0 if rng.random() < 0.15 else 1.0
        self.age_habit = rng.random() < 0.10


LAT_CASE_NOISE = 0.0


def apply_case(s, case, rng):
    if case == "title" or not s:
        return s
    if case == "upper":
        return s.upper()
    if case == "lower":
        return s.lower()
    # mixed: upper-case only some words
    return " ".join(w.upper() if rng.random() < 0.5 else w for w in s.split(" "))


# shortening rates (registration, request)
SHORT_RATES = {
    "reg": dict(m=0.08, u=0.03, a=0.03, j=0.12, g=0.03, b=0.10, addjan=0.02, addkhan=0.015),
    "req": dict(m=0.30, u=0.12, a=0.08, j=0.30, g=0.08, b=0.25, addjan=0.04, addkhan=0.02),
}


def shorten(nm, rng, rates, male, child):
    n = len(nm)
    if n >= 2:
        if nm[0] == "mohammad" and nm[1] not in ("jan", "khan"):
            if rng.random() < rates["m"]:
                return nm[1:], "short_mohammad"
        elif nm[-1] == "ullah" and nm[0] != "abd":
            if rng.random() < rates["u"]:
                return nm[:-1], "short_ullah"
        elif nm[0] == "abdul":
            if rng.random() < rates["a"]:
                return nm[1:], "short_abdul"
        if nm[-1] in ("jan", "khan") and nm[0] not in ("mohammad", "gul"):
            if rng.random() < rates["j"]:
                return nm[:-1], "drop_jan_khan"
        if nm[0] in ("ghulam", "noor", "sayed", "mir") and nm[1] not in ("jan", "khan", "gul"):
            if rng.random() < rates["g"]:
                return nm[1:], "short_prefix"
        if "bibi" in nm:
            if rng.random() < rates["b"]:
                return tuple(x for x in nm if x != "bibi"), "drop_bibi"
    elif n == 1:
        if child and rng.random() < rates["addjan"]:
            return nm + ("jan",), "add_jan"
        if male and not child and rng.random() < rates["addkhan"] and nm[0] not in ("khan", "jan"):
            return nm + ("khan",), "add_khan"
    return nm, None


def render_lat(nm, prof, rng, tags, drift=0.04):
    s = ""
    prev = None
    for i, k in enumerate(nm):
        v = LEX[k].latc[prof].pick(rng)
        if drift and rng.random() < drift:
            v2 = translit_drift(v, rng)
            if v2 != v:
                v = v2
                tags.append("translit_drift")
        if k == "ullah":
            r = rng.random()
            if r < 0.10:
                s += " " + v.capitalize()
            elif r < 0.16:
                s += "-" + v
            else:
                s += v
        elif k == "uddin":
            if v.startswith("-"):
                s += v
            elif rng.random() < 0.15:
                s += " " + v.capitalize()
            else:
                s += v
        elif i == 0:
            s = v
        elif prev == "abdul":
            if prof == "pk" and s.endswith("ul") and v[:1].lower() in "rstdnz" and rng.random() < 0.35:
                s = s[:-1] + (v[:2].lower() if v[:2].lower() == "sh" else v[0].lower())
                tags.append("abdul_assimilated")
            r = rng.random()
            if r < 0.22:
                s += v.lower()
                tags.append("compound_joined")
            elif r < 0.30:
                s += "-" + v
                tags.append("compound_hyphen")
            else:
                s += " " + v
        elif k == "jan":
            r = rng.random()
            if r < 0.12:
                s += v.lower()
                tags.append("compound_joined")
            else:
                s += " " + v
        else:
            r = rng.random()
            if r < 0.03:
                s += v.lower()
                tags.append("compound_joined")
            elif r < 0.045:
                s += "-" + v
                tags.append("compound_hyphen")
            else:
                s += " " + v
        prev = k
    return s


ULLAH_JOIN = {"fa": (0.45, 0.75), "ps": (0.20, 0.60), "ur": (0.05, 0.85)}


def render_ar(nm, aprof, rng, tags):
    s = ""
    prev = None
    for i, k in enumerate(nm):
        e = LEX[k]
        if aprof == "ps" and e.ps and rng.random() < 0.7:
            a = rng.choice(e.ps)
        else:
            a = e.arc.pick(rng)
        if i == 0:
            s = a
        elif k == "ullah":
            z, j = ULLAH_JOIN[aprof]
            r = rng.random()
            if r < z:
                s += ZWNJ + a
                tags.append("ar_zwnj")
            elif r < j:
                s += a
            else:
                s += " " + a
                tags.append("ar_split")
        elif k == "uddin":
            r = rng.random()
            if r < 0.7:
                s += a
            elif r < 0.95:
                s += " " + a
                tags.append("ar_split")
            else:
                s += ZWNJ + a
                tags.append("ar_zwnj")
        elif prev == "abdul":
            r = rng.random()
            if r < 0.10:
                s = s[:-2] + " ال" + a
                tags.append("ar_split")
            elif r < 0.14:
                s += " " + a
                tags.append("ar_split")
            else:
                s += a
        elif k == "jan":
            r = rng.random()
            if r < 0.30:
                s += a
                tags.append("ar_joined")
            elif r < 0.35:
                s += ZWNJ + a
                tags.append("ar_zwnj")
            else:
                s += " " + a
        else:
            r = rng.random()
            if r < 0.03:
                s += a
                tags.append("ar_joined")
            elif r < 0.07:
                s += ZWNJ + a
                tags.append("ar_zwnj")
            else:
                s += " " + a
        prev = k
    if aprof == "ur":
        s = s.replace("ه", "ہ")
    elif aprof == "ps" and "گ" in s and rng.random() < 0.7:
        s = s.replace("گ", "ګ")
    return s


def ar_surface(s, clk, rng, tags, female=False):
    """Code-point / orthographic noise for an Arabic-script string."""
    s2 = kb_apply(s, clk.kb, rng, female)
    if s2 != s:
        tags.append("ar_codepoints")
        s = s2
    if s.startswith("آ") and rng.random() < 0.12:
        s = "ا" + s[1:]
        tags.append("ar_alef")
    elif s.startswith("ا") and rng.random() < 0.03:
        s = rng.choice("أإ") + s[1:]
        tags.append("ar_alef")
    if rng.random() < 0.02:
        s = add_tatweel(s, rng)
        tags.append("ar_tatweel")
    if rng.random() < 0.02:
        s = add_diacritics(s, rng)
        tags.append("ar_diacritics")
    return s


def render_honor(key, script, clk, rng):
    e = HON[key]
    if script == "lat":
        return e.latc[clk.lprof].pick(rng)
    if key == "doctor":
        if clk.aprof == "ps":
            return "ډاکټر"
        if clk.aprof == "ur":
            return "ڈاکٹر"
    return e.arc.pick(rng)


class NameRef:
    """A person's name as known to relatives (shared by the person's record and their children's father_name)."""
    __slots__ = ("name", "honor", "honor_rate", "male")

    def __init__(self, name, male=True, honor=None, honor_rate=0.0):
        self.name = name
        self.male = male
        self.honor = honor
        self.honor_rate = honor_rate


def render_name(nref, script, clk, rng, tags, field, mode="reg", child=False, typo_rate=None):
    """Render a NameRef in one script with shortening, honorific, typo noise."""
    ck = (id(nref), script, field == "given")
    if mode == "reg" and ck in clk.cache and rng.random() < clk.copy_rate:
        s, t = clk.cache[ck]
        tags.extend(t)
        return s
    t = []
    nm, st = shorten(nref.name, rng, SHORT_RATES[mode], nref.male, child)
    if st:
        t.append(st)
    if script == "lat":
        s = render_lat(nm, clk.lprof, rng, t)
    else:
        s = render_ar(nm, clk.aprof, rng, t)
    if nref.honor and rng.random() < nref.honor_rate:
        s = render_honor(nref.honor, script, clk, rng) + " " + s
        t.append("honorific")
    if script == "ar":
        s = ar_surface(s, clk, rng, t, female=not nref.male)
        tr = 0.025 if typo_rate is None else typo_rate
        if rng.random() < tr:
            s2, op = typo_arabic(s, rng)
            if op:
                s = s2
                t.append("typo")
    else:
        tr = 0.035 if typo_rate is None else typo_rate
        if rng.random() < tr:
            s2, op = typo_latin(s, rng)
            if op:
                s = s2
                t.append("typo")
        s = apply_case(s, clk.case, rng)
    if rng.random() < 0.012:
        s = (s + " ") if rng.random() < 0.5 else s.replace(" ", "  ", 1)
        t.append("extra_space")
    if mode == "reg":
        clk.cache[ck] = (s, t)
    tags.extend(t)
    return s


def render_family(fkey, script, clk, rng, tags):
    e = FAM[fkey]
    if script == "lat":
        s = e.latc[clk.lprof].pick(rng)
        if rng.random() < 0.03:
            s = translit_drift(s, rng)
            tags.append("translit_drift")
        if rng.random() < 0.025:
            s2, op = typo_latin(s, rng)
            if op:
                s = s2
                tags.append("typo")
        return apply_case(s, clk.case, rng)
    if clk.aprof == "ps" and e.ps and rng.random() < 0.7:
        s = rng.choice(e.ps)
    else:
        s = e.arc.pick(rng)
    if clk.aprof == "ur":
        s = s.replace("ه", "ہ")
    s = ar_surface(s, clk, rng, tags)
    if rng.random() < 0.02:
        s2, op = typo_arabic(s, rng)
        if op:
            s = s2
            tags.append("typo")
    return s


def render_province(pkey, clk, rng, tags, mode="reg"):
    p = PROV_BY_KEY[pkey]
    ar = clk.prov_ar
    if mode == "reg" and p.cap_lat and rng.random() < 0.03:
        tags.append("province_as_capital")
        if ar:
            return kb_apply(rng.choice(p.cap_ar), clk.kb, rng)
        return apply_case(rng.choice(p.cap_lat), clk.case, rng)
    if ar:
        if clk.aprof == "ps" and p.ps and rng.random() < 0.7:
            s = rng.choice(p.ps)
        else:
            s = p.ar[0] if len(p.ar) == 1 or rng.random() < 0.7 else rng.choice(p.ar[1:])
        if rng.random() < 0.03:
            s = "ولایت " + s
            tags.append("province_decorated")
        s = kb_apply(s, clk.kb, rng)
        if rng.random() < 0.012:
            s2, op = typo_arabic(s, rng)
            if op:
                s = s2
                tags.append("typo")
        return s
    s = p.latc[clk.lprof].pick(rng)
    if rng.random() < 0.02:
        s = translit_drift(s, rng)
        tags.append("translit_drift")
    if rng.random() < 0.03:
        s = s + rng.choice([" Province", " province", " (prov.)"])
        tags.append("province_decorated")
    if rng.random() < 0.015:
        s2, op = typo_latin(s, rng)
        if op:
            s = s2
            tags.append("typo")
    return apply_case(s, clk.case, rng)


def render_district(pkey, didx, clk, rng):
    p = PROV_BY_KEY[pkey]
    if not p.districts:
        if p.cap_lat:
            if clk.place_ar:
                return kb_apply(rng.choice(p.cap_ar), clk.kb, rng)
            return rng.choice(p.cap_lat)
        if clk.place_ar:
            return rng.choice(["مرکز", "مرکز ولایت"])
        return rng.choice(["Center", "Markaz", "Centre", p.lat[0][0] + " City"])
    lat, ar = p.districts[didx % len(p.districts)]
    if clk.place_ar and rng.random() < 0.7:
        return kb_apply(rng.choice(ar), clk.kb, rng)
    s = lat[0] if rng.random() < 0.7 else rng.choice(lat)
    if rng.random() < 0.03:
        s = s.replace(" ", "") if " " in s else translit_drift(s, rng)
    return apply_case(s, clk.case, rng)


CITY_DECOR = {"peshawar": ", KPK", "mardan": ", KP", "nowshera": ", KPK", "karachi": ", Sindh", "hyderabad": ", Sindh",
              "quetta": ", Balochistan", "pishin": ", Balochistan", "lahore": ", Punjab", "islamabad": ", ICT"}


def render_city(ckey, clk, rng, tags):
    e = CITY[ckey]
    if clk.place_ar:
        s = e.ar[0] if clk.aprof == "ur" or rng.random() < 0.35 else e.extra
        s = kb_apply(s, clk.kb, rng)
        if rng.random() < 0.04:
            s = s + rng.choice(["، پاکستان", " پاکستان"])
            tags.append("place_decorated")
        return s
    s = e.latc[clk.lprof].pick(rng)
    r = rng.random()
    if r < 0.04:
        s = s + CITY_DECOR.get(ckey, ", Pakistan")
        tags.append("place_decorated")
    elif r < 0.06:
        s = s + " (Pakistan)"
        tags.append("place_decorated")
    if rng.random() < 0.015:
        s2, op = typo_latin(s, rng)
        if op:
            s = s2
            tags.append("typo")
    return apply_case(s, clk.case, rng)


SEX_LAT = {"M": [("M", 48), ("Male", 28), ("male", 10), ("m", 7), ("MALE", 3), ("Man", 1)],
           "F": [("F", 48), ("Female", 28), ("female", 10), ("f", 7), ("FEMALE", 3), ("Woman", 1)]}
SEX_AR = {("M", "fa"): ["مرد", "مرد", "ذکور", "مذکر"], ("F", "fa"): ["زن", "زن", "اناث", "مونث"],
          ("M", "ps"): ["نارینه", "نارینه", "سړی", "مرد"], ("F", "ps"): ["ښځینه", "ښځینه", "ښځه", "زن"],
          ("M", "ur"): ["مرد", "مذکر"], ("F", "ur"): ["عورت", "مؤنث"]}
SEX_LAT_C = {k: wchoice(v) for k, v in SEX_LAT.items()}


def render_sex(sex, clk, rng):
    if clk.script == "ar" and rng.random() < 0.6:
        return rng.choice(SEX_AR[(sex, clk.aprof)])
    return SEX_LAT_C[sex].pick(rng)


# ---------------------------------------------------------------------------
# Population
# ---------------------------------------------------------------------------

class Person:
    __slots__ = ("pid", "sex", "dob", "dob_kind", "year_bias", "age_bias", "nref", "father", "gf", "family",
                 "uses_family", "role", "husband", "son", "hh", "doc", "regmode", "nrec", "own_province",
                 "said_age", "reg_script")

    def __init__(self, sex, age, rng):
        self.sex = sex
        self.dob = REF - dt.timedelta(days=int(age * 365.25) + rng.randint(0, 364))
        if age < 10:
            kinds = (("exact", 35), ("year", 45), ("age", 20))
        elif age < 55:
            kinds = (("exact", 20), ("year", 40), ("age", 40))
        else:
            kinds = (("exact", 5), ("year", 35), ("age", 60))
        self.dob_kind = wchoice(kinds).pick(rng)
        self.year_bias = rng.choice((0, 0, 0, 0, 0, 0, 1, -1, 1, -1, 2, -2)) if age >= 10 else rng.choice((0, 0, 0, 1, -1))
        self.age_bias = rng.choice((0, 0, 0, 1, -1, 2, -2, 3, -3)) if age >= 15 else rng.choice((0, 0, 0, 1, -1))
        self.nref = None
        self.father = None
        self.gf = None
        self.family = None
        self.uses_family = False
        self.role = None
        self.husband = None
        self.son = None
        self.hh = None
        self.doc = None
        self.regmode = "hh"
        self.nrec = 0
        self.own_province = None
        self.pid = None
        self.said_age = None       # the approximate age last told to a clerk
        self.reg_script = None     # script of the person's first registration (for requests typed in the other)

    def age_ref(self):
        return age_on(self.dob, REF)


class Household:
    __slots__ = ("members", "province", "district", "city", "region", "xregion", "phones", "new_phone", "clan",
                 "unregistered", "head", "namesake", "plan", "alone", "key")

    def __init__(self):
        self.members = []
        self.phones = []
        self.new_phone = None
        self.unregistered = False
        self.namesake = False      # shares head's name, father's name and province with another household
        self.plan = None           # the household's registrations as a unit (list of Step), see plan_household
        self.alone = []            # members registering on their own: (person, date, site, tags, with_hid)
        self.key = None            # true household id (households.csv)


class Clan:
    __slots__ = ("F", "GF", "family", "province", "sayed", "households")


def pk_phone(rng):
    return "03%d%d%07d" % (rng.randint(0, 4), rng.randint(0, 9), rng.randint(0, 9999999))


def af_phone(rng):
    return "07%s%07d" % (rng.choice("023456789"), rng.randint(0, 9999999))


def male_honor(age, rng):
    r = rng.random()
    if age >= 40 and r < 0.16:
        return "haji", 0.45
    r = rng.random()
    if age >= 25 and r < 0.05:
        return rng.choice(("mullah", "mawlawi", "mawlawi", "qari", "hafiz")), 0.5
    if 22 <= age < 60 and r < 0.065:
        return rng.choice(("engineer", "doctor")), 0.45
    return None, 0.0


def ancestor(rng, male=True):
    if male:
        r = rng.random()
        if r < 0.25:
            return NameRef(MALE_CHOICE.pick(rng), True, "haji", 0.35)
        if r < 0.31:
            return NameRef(MALE_CHOICE.pick(rng), True, rng.choice(("mullah", "mawlawi", "qari")), 0.35)
        return NameRef(MALE_CHOICE.pick(rng), True)
    return NameRef(FEMALE_CHOICE.pick(rng), False)


def make_doc(age, rng):
    r = rng.random()
    if age >= 18:
        table = (("por", 0.18), ("acc", 0.08), ("tazkira", 0.10), ("etazkira", 0.07), ("passport", 0.01))
    elif age >= 5:
        table = (("por", 0.10), ("tazkira", 0.03), ("etazkira", 0.04))
    else:
        table = (("etazkira", 0.02),)
    acc = 0.0
    for t, p in table:
        acc += p
        if r < acc:
            break
    else:
        return None
    if t == "por":
        num = "%d%07d" % (rng.randint(1, 9), rng.randint(0, 9999999))
    elif t == "acc":
        num = "%d%09d" % (rng.randint(1, 9), rng.randint(0, 999999999))
    elif t == "tazkira":
        if rng.random() < 0.6:
            num = "%d" % rng.randint(10000, 9999999)
        else:
            num = "%d/%d/%d" % (rng.randint(1, 300), rng.randint(1, 300), rng.randint(1, 9999))
    elif t == "etazkira":
        num = "%d-%04d-%05d" % (rng.randint(1397, 1403), rng.randint(100, 3499), rng.randint(0, 99999))
    else:
        num = "P%08d" % rng.randint(0, 99999999)
    return (t, num)


NAMESAKE_RATE = 0.03     # share of male-headed households made namesakes of an unrelated household


def pick_given(male, rng, avoid=()):
    ch = MALE_CHOICE if male else FEMALE_CHOICE
    for _ in range(10):
        nm = ch.pick(rng)
        if nm not in avoid:
            return nm
    return nm


# ---------------------------------------------------------------------------
# Households registering again (see World.plan_household)
# ---------------------------------------------------------------------------

REREG_SHARE = 0.22       # households that register again as a unit (about one in eight of them a third time)
SCRIPT_SWITCH = 0.55     # the next desk types in the other script (Latin on one side, Arabic script on the other)


class Step:
    """One registration of a household as a unit: when, where, who came, who stood as head, and what
    about particular members differs this time (over: id(person) -> dict read by make_record)."""
    __slots__ = ("date", "site", "roster", "head", "over", "tags", "switch", "new_phone")

    def __init__(self, date, site, roster, head):
        self.date = date
        self.site = site
        self.roster = roster
        self.head = head
        self.over = {}
        self.tags = []
        self.switch = False
        self.new_phone = False

    def note(self, p, tag=None, **kw):
        o = self.over.setdefault(id(p), {})
        o.update(kw)
        if tag:
            o.setdefault("tags", []).append(tag)


def rereg_gap(rng):
    r = rng.random()
    if r < 0.10:
        return rng.randint(1, 6)        # the next days: the reception centre after the crossing
    if r < 0.55:
        return rng.randint(7, 60)       # weeks later
    if r < 0.90:
        return rng.randint(61, 180)     # months later: settled, back for winter assistance
    return rng.randint(181, 400)


def rereg_site(hh, prev, rng):
    """Mostly another crossing point or centre; sometimes the same desk again."""
    if rng.random() < 0.15:
        return prev
    key = hh.xregion if hh.xregion in ("east", "south") else "other"
    s = prev
    for _ in range(6):
        s = SECOND_SITE_CHOICE[key].pick(rng)
        if s != prev:
            return s
    return s


class World:
    def __init__(self, n_people, seed):
        self.rng = random.Random(seed)
        self.n = n_people
        self.persons = []          # all persons (registered or not)
        self.households = []
        self.clans = []
        self.heads = []

    # -- people -----------------------------------------------------------
    def new_person(self, sex, age):
        p = Person(sex, age, self.rng)
        self.persons.append(p)
        return p

    def make_clan(self):
        rng = self.rng
        c = Clan()
        c.F = ancestor(rng)
        c.GF = ancestor(rng)
        c.sayed = rng.random() < 0.04
        if c.sayed:
            c.family = rng.choice(("sadat", "hashimi", "hussaini")) if rng.random() < 0.6 else None
        else:
            c.family = FAM_CHOICE.pick(rng) if rng.random() < 0.45 else None
        c.province = PROV_CHOICE.pick(rng).key
        c.households = []
        r = rng.random()
        nh = 1 if r < 0.60 else 2 if r < 0.85 else 3 if r < 0.95 else 4
        used = []
        base_age = int(rng.triangular(22, 72, 34))
        for i in range(nh):
            age = max(19, min(80, base_age + rng.randint(-8, 8)))
            if i == 0 and nh == 1 and rng.random() < 0.07:
                hh = self.make_widow_household(c, age)
            else:
                hh = self.make_household(c, age, used)
            c.households.append(hh)
        self.clans.append(c)
        return c

    def base_household(self, c):
        rng = self.rng
        hh = Household()
        hh.clan = c
        hh.province = c.province if rng.random() < 0.9 else PROV_CHOICE.pick(rng).key
        pr = PROV_BY_KEY[hh.province]
        hh.region = pr.region
        hh.district = rng.randint(0, 50)
        if hh.region in ("south", "southwest", "west"):
            hh.xregion = "south"
        elif hh.region in ("khost", "paktika", "paktia"):
            hh.xregion = "se"
        else:
            hh.xregion = "east"
        if rng.random() < 0.12:
            hh.xregion = rng.choice(("east", "south", "se"))
        hh.city = CITY_CHOICE[hh.xregion].pick(rng)
        if rng.random() < 0.85:
            hh.phones.append(pk_phone(rng) if rng.random() < 0.62 else af_phone(rng))
            if rng.random() < 0.25:
                hh.phones.append(pk_phone(rng) if rng.random() < 0.5 else af_phone(rng))
        self.households.append(hh)
        return hh

    def add(self, hh, p, role):
        p.role = role
        p.hh = hh
        hh.members.append(p)
        p.doc = make_doc(p.age_ref(), self.rng)

    def make_children(self, hh, mother_age, father_ref, gf_ref, family, named_after, used):
        rng = self.rng
        n_target = max(0, min(11, int(rng.gauss(5.3, 2.3))))
        a = mother_age - 17 - rng.randint(0, 7)
        ages = []
        while a >= 0 and len(ages) < n_target:
            ages.append(a)
            a -= rng.choice((1, 2, 2, 2, 3, 3, 4))
        first_son = True
        kids = []
        for age in ages:
            if age > 18 and rng.random() < 0.45:
                continue   # grown-up child living elsewhere
            if age > 26:
                continue
            male = rng.random() < 0.51
            k = self.new_person("M" if male else "F", age)
            if male and first_son and named_after is not None and rng.random() < 0.12:
                nm = named_after.name          # son named after his grandfather
            elif male and rng.random() < 0.012:
                nm = father_ref.name           # son carries his father's given name
            else:
                nm = pick_given(male, rng, used)
            if male:
                first_son = False
            used.append(nm)
            hon, rate = (None, 0.0)
            if male and age >= 22:
                hon, rate = male_honor(age, rng)
            k.nref = NameRef(nm, male, hon, rate)
            k.father = father_ref
            k.gf = gf_ref
            k.family = family
            k.uses_family = family is not None and rng.random() < (0.78 if male else 0.5)
            self.add(hh, k, "child")
            kids.append(k)
        return kids

    def make_wife(self, hh, age, husband_ref):
        rng = self.rng
        w = self.new_person("F", age)
        w.nref = NameRef(pick_given(False, rng), False)
        w.father = ancestor(rng)
        w.gf = ancestor(rng)
        if rng.random() < 0.3:
            w.family = FAM_CHOICE.pick(rng)
            w.uses_family = rng.random() < 0.6
        elif hh.clan.family and rng.random() < 0.3:
            w.family = hh.clan.family
            w.uses_family = True
        w.husband = husband_ref
        if rng.random() < 0.12:
            w.own_province = PROV_CHOICE.pick(rng).key
        self.add(hh, w, "wife")
        return w

    def make_household(self, c, head_age, used_heads):
        rng = self.rng
        hh = self.base_household(c)
        # Namesake families.  With a few hundred common names, a million returnees hold many unrelated
        # "Mohammad Nabi son of Abdul Ghani" from the same province and of about the same age, each with
        # a wife and children: a household must not be recognised by its head's name alone.  Beyond the
        # collisions the name frequencies give by themselves, a share of heads copy an unrelated head's
        # given and father's name, province and near age (often district and last residence too,
        # sometimes the grandfather's and the wife's names).
        namesake = None
        if self.heads and rng.random() < NAMESAKE_RATE:
            namesake = rng.choice(self.heads)
            if namesake.hh.clan is c:
                namesake = None
        if namesake is not None:
            nh = namesake.hh
            head_age = max(19, min(80, namesake.age_ref() + rng.choice((0, 0, 1, -1, 1, -1, 2, -2, 3, -3))))
            hh.province, hh.region, hh.xregion = nh.province, nh.region, nh.xregion
            if rng.random() < 0.5:
                hh.district = nh.district
            if rng.random() < 0.6:
                hh.city = nh.city
            if not c.households and nh.clan.family and rng.random() < 0.4:
                c.family = nh.clan.family        # same tribe, too
            hh.namesake = nh.namesake = True
        head = self.new_person("M", head_age)
        nm = namesake.nref.name if namesake is not None else pick_given(True, rng, used_heads)
        used_heads.append(nm)
        hon, rate = male_honor(head_age, rng)
        if c.sayed:
            hon, rate = "sayed", 0.55
        if namesake is not None and namesake.nref.honor and rng.random() < 0.5:
            hon, rate = namesake.nref.honor, namesake.nref.honor_rate
        head.nref = NameRef(nm, True, hon, rate)
        if namesake is not None:
            head.father = NameRef(namesake.father.name, True, namesake.father.honor, namesake.father.honor_rate)
            head.gf = NameRef(namesake.gf.name, True) if namesake.gf is not None and rng.random() < 0.2 else c.GF
        else:
            head.father = c.F
            head.gf = c.GF
        head.family = c.family
        head.uses_family = c.family is not None and rng.random() < 0.8
        self.add(hh, head, "head")
        hh.head = head
        self.heads.append(head)
        used_kids = [nm]
        if head_age >= 19 and rng.random() < 0.92:
            wage = max(16, head_age - rng.randint(0, 12))
            self.make_wife(hh, wage, head.nref)
            kids = self.make_children(hh, wage, head.nref, head.father, c.family, head.father, used_kids)
            # married sons living with their parents: daughter-in-law and grandchildren (three generations)
            for k in kids:
                if k.sex == "M" and k.age_ref() >= 19 and rng.random() < 0.5:
                    dil_age = max(16, k.age_ref() - rng.randint(0, 6))
                    self.make_wife(hh, dil_age, k.nref)
                    self.make_children(hh, dil_age, k.nref, head.nref, c.family, head.nref, used_kids)
            if head_age > 35 and rng.random() < 0.05:
                wage2 = max(17, head_age - rng.randint(8, 25))
                self.make_wife(hh, wage2, head.nref)
                self.make_children(hh, wage2, head.nref, head.father, c.family, None, used_kids)
        if namesake is not None and rng.random() < 0.35:
            # the wife's name coincides as well (Fatima, Zainab, Bibi Gul are everywhere)
            nw = [m for m in namesake.hh.members if m.role == "wife" and m.husband is namesake.nref]
            for m in hh.members:
                if nw and m.role == "wife" and m.husband is head.nref:
                    m.nref = NameRef(nw[0].nref.name, False)
                    break
        if head_age < 55 and rng.random() < 0.12:   # widowed mother of the head
            m = self.new_person("F", min(95, head_age + rng.randint(17, 35)))
            m.nref = NameRef(pick_given(False, rng), False)
            m.father = ancestor(rng)
            m.gf = ancestor(rng) if rng.random() < 0.5 else None
            m.husband = head.father
            m.son = head.nref
            self.add(hh, m, "mother")
        if head_age < 50 and rng.random() < 0.04 and namesake is None:   # the head's old father lives with him
            f = self.new_person("M", min(95, head_age + rng.randint(20, 35)))
            f.nref = c.F
            f.father = c.GF
            f.gf = ancestor(rng) if rng.random() < 0.4 else None
            f.family = c.family
            f.uses_family = head.uses_family
            self.add(hh, f, "father")
        if rng.random() < 0.08:   # unmarried brother or sister of the head
            male = rng.random() < 0.55
            s = self.new_person("M" if male else "F", max(12, head_age - rng.randint(2, 15)))
            snm = pick_given(male, rng, used_heads)
            if male:
                used_heads.append(snm)
            s.nref = NameRef(snm, male)
            s.father = head.father
            s.gf = head.gf
            s.family = c.family
            s.uses_family = c.family is not None and rng.random() < (0.75 if male else 0.5)
            self.add(hh, s, "sibling")
        return hh

    def make_widow_household(self, c, age):
        rng = self.rng
        hh = self.base_household(c)
        w = self.new_person("F", max(22, age))
        w.nref = NameRef(pick_given(False, rng), False)
        w.father = ancestor(rng)
        w.gf = ancestor(rng)
        husband = ancestor(rng)
        w.husband = husband
        self.add(hh, w, "head")
        hh.head = w
        hgf = ancestor(rng)
        self.make_children(hh, w.age_ref(), husband, hgf, c.family, hgf, [])
        for k in hh.members[1:]:
            if k.role == "child" and k.sex == "M" and k.age_ref() >= 16:
                w.son = k.nref
                break
        return hh

    # -- a household's registrations as a unit --------------------------------
    # A share of households register again, as a unit, at another crossing point or reception centre:
    # after the crossing they are registered at the border, then weeks or months later at the
    # reception centre near where they settle, or at a transit centre when the winter assistance is
    # announced.  Between two registrations the household changes: a baby is born, a relative who
    # crossed later joins, a married daughter has gone to her husband's family, a son went to find
    # work; men are detained separately at the border and register alone when released, while the
    # mother or the eldest son stands as head meanwhile; an old father hands the headship to his son.
    # The CSV has no column for the relationship to the head: a household is the rows sharing a
    # household_id, the head is the row typed first (and the one most often giving the phone), and
    # relations show only in the names: father's name, and women written "wife of X" / "mother of Y".
    # When the head changes, the new head's point of view shows there: his mother becomes
    # "mother of <him>", and a clerk may copy the new head's name into his younger siblings' father
    # column.
    def plan_household(self, hh):
        """Plans the household's registrations (hh.plan, hh.alone); returns the number of registered
        persons it adds (members who join between registrations)."""
        rng = self.rng
        main = [p for p in hh.members if p.regmode == "hh"]
        if not main:
            return 0
        head = hh.head
        d0 = wave_date(rng)
        st0 = Step(d0, SITE_CHOICE[hh.region].pick(rng), main, head)
        hh.plan = [st0]
        if rng.random() >= REREG_SHARE:
            return 0
        r = rng.random()
        n_rep = 1 if r < 0.87 else 2          # a second registration, occasionally a third
        head_in = head is not None and head.regmode == "hh"
        male_head = head_in and head.sex == "M"
        wife = None
        if male_head:
            wife = next((m for m in main if m.role == "wife" and m.husband is head.nref), None)
        sons = sorted((m for m in main if m.role == "child" and m.sex == "M" and m.age_ref() >= 16),
                      key=lambda m: m.dob)
        eldest = sons[0] if sons else None

        def stand_in():
            if wife is not None and (eldest is None or rng.random() < 0.65):
                return wife, "head_is_mother"
            return eldest, "head_is_eldest_son"

        # detained father: absent at the first registration ("first") or at a later one ("later")
        detained = None
        if male_head and (wife or eldest) and rng.random() < 0.10 and d0 + dt.timedelta(days=60) <= D_MAX:
            detained = "first" if rng.random() < 0.5 else "later"
        detained_step = 0 if detained == "first" else (rng.randint(1, n_rep) if detained else None)
        handover = (male_head and eldest is not None and head.age_ref() >= 58 and eldest.age_ref() >= 20
                    and rng.random() < 0.35)
        widow_handover = (head_in and head.sex == "F" and eldest is not None and eldest.age_ref() >= 18
                          and rng.random() < 0.3)
        added = 0
        min_next = None
        if detained == "first":
            st0.roster = [m for m in main if m is not head]
            nh, why = stand_in()
            self.restate(st0, nh, head)
            st0.tags += ["head_absent_detained", why]
            da = d0 + dt.timedelta(days=rng.randint(20, 45))
            hh.alone.append((head, da, SITE_CHOICE[hh.region].pick(rng),
                             ["registered_alone", "alone_after_detention"], rng.random() < 0.5))
            min_next = da
        base = list(main)            # who belongs to the household as it moves on
        prev, d = st0, d0
        for k in range(1, n_rep + 1):
            dk = d + dt.timedelta(days=rereg_gap(rng))
            if min_next is not None and dk <= min_next:
                dk = min_next + dt.timedelta(days=rng.randint(1, 30))
            if dk > D_MAX:
                break                # the data ends before they come again
            st = Step(dk, rereg_site(hh, prev.site, rng), None, head)
            st.switch = rng.random() < SCRIPT_SWITCH
            st.new_phone = rng.random() < 0.30
            # who has left for good since the last registration
            for m in list(base):
                if m is head or m is eldest:
                    continue
                if m.role == "child" and m.sex == "F" and age_on(m.dob, dk) >= 16 and rng.random() < 0.15:
                    base.remove(m)
                    st.tags.append("left_married_daughter")
                elif m.role == "child" and m.sex == "M" and age_on(m.dob, dk) >= 18 and rng.random() < 0.05:
                    base.remove(m)
                    st.tags.append("left_went_for_work")
            # who joins: a baby born since, a relative who crossed later
            mothers = [m for m in base if m.role == "wife" and m.husband is not None and
                       17 <= age_on(m.dob, dk) <= 44]
            if mothers and (dk - d).days >= 30 and rng.random() < 0.18:
                b = self.make_newborn(hh, rng.choice(mothers), d, dk)
                base.append(b)
                added += 1
                st.note(b, tag="joined_newborn")
                if rng.random() < 0.25:
                    st.note(b, unnamed=True)        # not yet named: "a nameless infant is registered with its family"
            if head_in and rng.random() < 0.08:
                j = self.make_joiner(hh)
                base.append(j)
                added += 1
                jt = ["joined_relative"]
                if rng.random() < 0.35:
                    # registered on his or her own on arrival, before finding the family
                    da = d + dt.timedelta(days=rng.randint(0, max(0, (dk - d).days - 1)))
                    hh.alone.append((j, da, SITE_CHOICE[hh.region].pick(rng),
                                     ["registered_alone", "alone_before_joining"], rng.random() < 0.6))
                    jt.append("joined_after_registering_alone")
                for t in jt:
                    st.note(j, tag=t)
            roster = list(base)
            if (detained == "first" and k == 1) or (detained == "later" and k == detained_step + 1):
                st.tags.append("head_restored")
                st.note(head, tag="rejoined_after_detention")
            # temporary absences: at work, in hospital, stayed at the camp
            for m in list(roster):
                if m is not head and m is not eldest and rng.random() < 0.04:
                    roster.remove(m)
                    st.tags.append("left_absent_this_time")
            st.roster = roster
            if detained == "later" and k == detained_step:
                st.roster = [m for m in roster if m is not head]
                nh, why = stand_in()
                self.restate(st, nh, head)
                st.tags += ["left_father_detained", why]
                st.new_phone = rng.random() < 0.5      # his phone went with him
                da = dk + dt.timedelta(days=rng.randint(20, 45))
                if da <= D_MAX:
                    hh.alone.append((head, da, SITE_CHOICE[hh.region].pick(rng),
                                     ["registered_alone", "alone_after_detention"], rng.random() < 0.5))
                    min_next = da
            elif (handover or widow_handover) and eldest in roster:
                self.restate(st, eldest, head)
                st.tags.append("head_handed_to_son" if handover else "head_is_eldest_son")
            hh.plan.append(st)
            prev, d = st, dk
        return added

    def restate(self, st, new_head, old_head):
        """Makes new_head the step's head, first in its rows, and restates relations from his or her side."""
        rng = self.rng
        st.head = new_head
        st.roster = [new_head] + [m for m in st.roster if m is not new_head]
        if new_head.role == "wife":
            # the mother standing as head: more often written as "wife of" her absent husband
            st.note(new_head, rel_boost=3.0, tag="registered_as_head")
            return
        st.note(new_head, tag="registered_as_head")
        for m in st.roster:
            if m is new_head:
                continue
            if m.sex == "F" and m.role in ("wife", "head") and (m.husband is new_head.father or m.husband is old_head.nref):
                # his mother, now "mother of" the new head
                st.note(m, son=new_head.nref, rel_boost=4.0)
            elif m.role == "child" and m.father is new_head.father and rng.random() < 0.12:
                # a younger brother or sister typed with the new head's name as father
                st.note(m, father_as=new_head.nref, tag="head_name_in_father_col")

    def make_newborn(self, hh, mother, d_prev, d_next):
        rng = self.rng
        male = rng.random() < 0.51
        b = self.new_person("M" if male else "F", 0)
        span = max(0, (d_next - d_prev).days - 2)
        b.dob = d_prev + dt.timedelta(days=rng.randint(0, span))
        b.dob_kind = wchoice((("exact", 60), ("year", 25), ("age", 15))).pick(rng)
        b.year_bias = 0
        b.age_bias = 0
        b.nref = NameRef(pick_given(male, rng), male)
        b.father = mother.husband
        b.gf = next((m.father for m in hh.members if m.nref is mother.husband), None)
        b.family = hh.clan.family
        b.uses_family = b.family is not None and rng.random() < (0.7 if male else 0.45)
        self.add(hh, b, "child")
        b.regmode = "joiner"
        return b

    def make_joiner(self, hh):
        """A relative who crossed later and joins the household between two registrations."""
        rng = self.rng
        head = hh.head
        hage = head.age_ref()
        r = rng.random()
        c = hh.clan
        if head.sex == "M" and r < 0.4 and hage >= 16:          # brother or sister of the head
            male = rng.random() < 0.55
            j = self.new_person("M" if male else "F", max(12, hage - rng.randint(2, 15)))
            j.nref = NameRef(pick_given(male, rng), male)
            j.father, j.gf = head.father, head.gf
            role = "sibling"
        elif (head.sex == "M" and r < 0.6 and hage < 60
              and not any(m.role == "mother" for m in hh.members)):   # his widowed mother
            j = self.new_person("F", min(95, hage + rng.randint(17, 35)))
            j.nref = NameRef(pick_given(False, rng), False)
            j.father = ancestor(rng)
            j.gf = ancestor(rng) if rng.random() < 0.5 else None
            j.husband = head.father
            j.son = head.nref
            self.add(hh, j, "mother")
            j.regmode = "joiner"
            return j
        else:                                                     # an orphaned nephew or niece
            male = rng.random() < 0.55
            j = self.new_person("M" if male else "F", rng.randint(3, 15))
            j.nref = NameRef(pick_given(male, rng), male)
            j.father = NameRef(pick_given(True, rng), True)      # the head's late brother
            j.gf = head.father if head.sex == "M" else ancestor(rng)
            role = "relative"
        j.family = c.family
        j.uses_family = c.family is not None and rng.random() < (0.75 if j.sex == "M" else 0.5)
        self.add(hh, j, role)
        j.regmode = "joiner"
        return j

    # -- who registers ------------------------------------------------------
    def build(self):
        rng = self.rng
        registered = 0
        while registered < self.n:
            c = self.make_clan()
            for hh in c.households:
                if rng.random() < 0.03:
                    hh.unregistered = True
                    for p in hh.members:
                        p.regmode = "never"
                    continue
                for p in hh.members:
                    a = p.age_ref()
                    r = rng.random()
                    if a >= 5 and r < 0.025:
                        p.regmode = "never"          # detained / stayed behind / lost: sought but never registered
                    elif a >= 8 and r < 0.05:
                        p.regmode = "separate"       # registered only apart from the household
                    else:
                        p.regmode = "hh"
                    if p.regmode != "never":
                        registered += 1
                registered += self.plan_household(hh)
        # trim the excess from the last households
        excess = registered - self.n
        for p in reversed(self.persons):
            if excess <= 0:
                break
            if p.regmode != "never":
                p.regmode = "never"
                excess -= 1
        k = 0
        for p in self.persons:
            if p.regmode != "never":
                k += 1
                p.pid = "P%07d" % k
        for i, hh in enumerate(self.households):
            hh.key = "H%07d" % (i + 1)
        unreg = 0
        for p in self.persons:
            if p.regmode == "never":
                unreg += 1
                p.pid = "U%07d" % unreg


# ---------------------------------------------------------------------------
# Registration events
# ---------------------------------------------------------------------------

class Event:
    __slots__ = ("date", "site", "hh", "members", "with_hid", "hid", "new_phone", "kind", "order", "head", "over",
                 "tags", "switch", "prev", "script")

    def __init__(self, date, site, hh, members, with_hid=True, kind="primary"):
        self.date = date
        self.site = site
        self.hh = hh
        self.members = members
        self.with_hid = with_hid
        self.hid = ""
        self.new_phone = False
        self.kind = kind
        self.head = hh.head        # who stood as head at this registration
        self.over = None           # per-person differences at this registration (Step.over)
        self.tags = ()             # tags every record of this registration carries
        self.switch = False        # typed in the other script than the household's previous registration
        self.prev = None           # the household's previous registration as a unit
        self.script = None


def shift_date(d, rng):
    r = rng.random()
    if r < 0.40:
        delta = rng.randint(0, 7)
    elif r < 0.75:
        delta = rng.randint(8, 60)
    else:
        delta = rng.randint(61, 400)
    d2 = d + dt.timedelta(days=delta)
    if d2 > D_MAX:
        d2 = max(D_MIN, d - dt.timedelta(days=delta))
    return d2


def second_site(hh, first, rng):
    if rng.random() < 0.35:
        return first
    key = hh.xregion if hh.xregion in ("east", "south") else "other"
    for _ in range(4):
        s = SECOND_SITE_CHOICE[key].pick(rng)
        if s != first:
            return s
    return s


def gap_bucket(days):
    if days < 7:
        return "rereg_gap_days"
    if days <= 60:
        return "rereg_gap_weeks"
    if days <= 180:
        return "rereg_gap_months"
    return "rereg_gap_over_6_months"


def build_events(world):
    rng = world.rng
    events = []
    hh_events = {}
    for hh in world.households:
        if hh.unregistered or not hh.plan:
            continue
        evs = []
        prev = None
        for st in hh.plan:
            mem = [p for p in st.roster if p.regmode != "never"]
            if not mem:
                continue
            ev = Event(st.date, st.site, hh, mem, kind="primary" if prev is None else "repeat")
            ev.head = st.head
            ev.over = st.over
            ev.new_phone = st.new_phone
            ev.switch = st.switch
            ev.prev = prev
            tags = list(st.tags)
            if prev is not None:
                # what a reader of a missed household link needs to know about this registration
                tags.append("family_reregistered")
                tags.append("rereg_%d" % (len(evs) + 1))
                tags.append(gap_bucket((ev.date - prev.date).days))
                tags.append("rereg_same_site" if ev.site == prev.site else "rereg_other_site")
                before = set(id(p) for p in prev.members)
                now = set(id(p) for p in mem)
                if now - before:
                    tags.append("member_joined")
                if before - now:
                    tags.append("member_left")
                if ev.head is not prev.head:
                    tags.append("head_changed")
            elif hh.plan[0].head is not hh.head:
                tags.append("head_not_usual")
            ev.tags = tags
            evs.append(ev)
            events.append(ev)
            prev = ev
        if evs:
            hh_events[id(hh)] = evs
        # members registering on their own: the father released from detention, a relative on arrival
        for p, d, site, tags, with_hid in hh.alone:
            if p.regmode == "never":
                continue
            ev = Event(d, site, hh, [p], with_hid=with_hid, kind="individual")
            ev.head = p
            ev.tags = tags
            ev.new_phone = rng.random() < 0.5
            events.append(ev)
    # individual registrations: separated members, and extra individual registrations
    for hh in world.households:
        if hh.unregistered:
            continue
        for p in hh.members:
            extra = p.regmode == "separate" or (p.regmode == "hh" and p.age_ref() >= 8 and rng.random() < 0.05)
            if not extra:
                continue
            relatives = [h for h in hh.clan.households if h is not hh and id(h) in hh_events]
            r = rng.random()
            if relatives and r < 0.35:
                # registered as part of a relative's household (e.g. the uncle's family)
                ev = rng.choice(hh_events[id(rng.choice(relatives))])
                ev.members.append(p)
                continue
            base = hh_events[id(hh)][0].date if id(hh) in hh_events else wave_date(rng)
            d = shift_date(base, rng) if rng.random() < 0.8 else wave_date(rng)
            site = SITE_CHOICE[hh.region].pick(rng)
            if rng.random() < 0.5:
                site = second_site(hh, site, rng)
            ev = Event(d, site, hh, [p], with_hid=rng.random() < 0.75, kind="individual")
            ev.new_phone = rng.random() < 0.4
            events.append(ev)
    for i, ev in enumerate(events):
        ev.order = i
    events.sort(key=lambda e: (e.date, e.order))
    n = 0
    for ev in events:
        if ev.with_hid:
            n += 1
            ev.hid = "HH-%s-%06d" % (SITES[ev.site][0], n)
    return events


# ---------------------------------------------------------------------------
# Record rendering
# ---------------------------------------------------------------------------

WIFE_LAT = ["Wife of {}", "W/O {}", "w/o {}", "Mrs {}", "Zawja-e {}", "wife {}"]
WIFE_AR = {"fa": ["همسر {}", "خانم {}", "زوجه {}", "زن {}"], "ps": ["ښځه د {}", "د {} ښځه", "همسر {}", "میرمن {}"],
           "ur": ["زوجہ {}", "بیوی {}", "اہلیہ {}"]}
DAU_LAT = ["Daughter of {}", "D/O {}", "d/o {}", "Dukhtar-e {}", "daughter {}"]
DAU_AR = {"fa": ["دختر {}", "بنت {}"], "ps": ["لور د {}", "د {} لور", "دختر {}"], "ur": ["دختر {}", "بنت {}"]}
MOT_LAT = ["Mother of {}", "M/O {}", "Mor of {}", "mother {}"]
MOT_AR = {"fa": ["مادر {}", "والده {}"], "ps": ["مور د {}", "د {} مور", "مادر {}"], "ur": ["والدہ {}", "ماں {}"]}
SON_PREFIX_LAT = ["s/o", "S/O", "son of", "Son of", "bin", "walad"]
DAU_PREFIX_LAT = ["d/o", "D/O", "daughter of", "bint"]
SON_PREFIX_AR = ["ولد", "فرزند", "بن", "ولد"]
DAU_PREFIX_AR = ["بنت", "دختر", "بنت"]

DOC_TYPES = {
    "por": ["PoR", "PoR card", "POR", "por card", "P.O.R", "PoR Card", "PoR"],
    "acc": ["ACC", "Afghan Citizen Card", "acc", "ACC card", "ACC"],
    "tazkira": ["tazkira", "Tazkira", "Tazkera", "tazkera", "paper tazkira", "Tazkira"],
    "etazkira": ["e-tazkira", "E-Tazkira", "eTazkira", "electronic tazkira", "e-tazkera", "E-tazkira"],
    "passport": ["passport", "Passport", "PASSPORT"],
}
DOC_TYPES_AR = {"tazkira": ["تذکره", "تذکره کاغذی"], "etazkira": ["تذکره الکترونیکی", "ای تذکره"], "passport": ["پاسپورت"]}


def format_doc(t, num, rng, tags):
    r = rng.random()
    s = num
    if t == "por":
        if r < 0.12:
            s = "PoR-" + num
        elif r < 0.20:
            s = num[:4] + "-" + num[4:]
        elif r < 0.25:
            s = "POR " + num
    elif t == "acc":
        if r < 0.12:
            s = "ACC-" + num
        elif r < 0.22:
            s = num[:4] + "-" + num[4:7] + "-" + num[7:]
        elif r < 0.26:
            s = "ACC " + num[:4] + " " + num[4:7] + " " + num[7:]
    elif t == "etazkira":
        if r < 0.25:
            s = num.replace("-", "")
        elif r < 0.37:
            s = num.replace("-", " ")
    elif t == "tazkira":
        if "/" in num and r < 0.2:
            v, p, n = num.split("/")
            s = "Jild %s Safha %s Sabt %s" % (v, p, n) if rng.random() < 0.5 else "%s-%s-%s" % (v, p, n)
    elif t == "passport":
        if r < 0.2:
            s = num.lower()
        elif r < 0.3:
            s = num[0] + " " + num[1:5] + " " + num[5:]
    if s != num:
        tags.append("doc_format")
    if rng.random() < 0.05:
        digs = [i for i, c in enumerate(s) if c.isdigit()]
        if len(digs) >= 4:
            op = rng.random()
            i = rng.choice(digs)
            if op < 0.6:
                s = s[:i] + rng.choice([d for d in "0123456789" if d != s[i]]) + s[i + 1:]
            elif op < 0.9 and i + 1 < len(s) and s[i + 1].isdigit() and s[i + 1] != s[i]:
                s = s[:i] + s[i + 1] + s[i] + s[i + 2:]
            else:
                s = s[:i] + s[i + 1:]
            tags.append("doc_typo")
    return s


def format_phone(num, rng, tags):
    r = rng.random()
    if num.startswith("03"):
        body = num[1:]
        if r < 0.35:
            s = num[:4] + "-" + num[4:]
        elif r < 0.62:
            s = num
        elif r < 0.72:
            s = "+92 " + body[:3] + " " + body[3:]
        elif r < 0.82:
            s = "+92" + body
        elif r < 0.87:
            s = "0092-" + body[:3] + "-" + body[3:]
        else:
            s = num[:4] + " " + num[4:]
    else:
        body = num[1:]
        if r < 0.30:
            s = num[:3] + " " + num[3:6] + " " + num[6:]
        elif r < 0.62:
            s = num
        elif r < 0.72:
            s = "+93 " + body[:2] + " " + body[2:5] + " " + body[5:]
        elif r < 0.82:
            s = "+93" + body
        elif r < 0.87:
            s = "0093 " + body[:2] + " " + body[2:5] + " " + body[5:]
        else:
            s = num[:3] + "-" + num[3:6] + "-" + num[6:]
    if rng.random() < 0.03:
        digs = [i for i, c in enumerate(s) if c.isdigit()]
        i = rng.choice(digs[3:])
        s = s[:i] + rng.choice([d for d in "0123456789" if d != s[i]]) + s[i + 1:]
        tags.append("phone_typo")
    return s


def sh_year(y, rng):
    return y - 621 if rng.random() < 0.6 else y - 622


def fmt_greg(d, rng, tags):
    r = rng.random()
    if r < 0.45:
        return "%04d-%02d-%02d" % (d.year, d.month, d.day)
    if r < 0.75:
        return "%02d/%02d/%04d" % (d.day, d.month, d.year)
    if r < 0.90:
        return "%02d-%02d-%04d" % (d.day, d.month, d.year)
    if r < 0.95:
        tags.append("date_format_unusual")
        return "%d/%d/%04d" % (d.day, d.month, d.year)
    tags.append("date_format_unusual")
    return "%02d.%02d.%04d" % (d.day, d.month, d.year)


def fmt_sh(y, m, d, rng, tags):
    r = rng.random()
    if r < 0.55:
        return "%04d-%02d-%02d" % (y, m, d)
    if r < 0.90:
        tags.append("date_sh_slashes")
        return "%04d/%02d/%02d" % (y, m, d)
    tags.append("date_format_unusual")
    return "%02d/%02d/%04d" % (d, m, y)


def render_birth(p, reg, clk, rng, tags, kind=None, repeat=False):
    """Returns (birth_date, age) strings as typed at one registration.  kind overrides what the person
    can tell this time (documents left behind, a clerk who only asks the age); repeat marks a later
    registration, where an approximate age is often told as it was told months before."""
    true_age = age_on(p.dob, reg)
    bd = ""
    age = ""
    kind = kind or p.dob_kind
    if kind == "exact":
        r = rng.random()
        if r < 0.08:
            tags.append("dob_missing")
        elif r < 0.18:
            bd = str(p.dob.year)
            tags.append("dob_greg_year")
        elif r < 0.64:
            d = p.dob
            if rng.random() < 0.03 and d.day <= 12 and d.day != d.month:
                d = dt.date(d.year, d.day, d.month)
                tags.append("dob_day_month_swapped")
            bd = fmt_greg(d, rng, tags)
            tags.append("dob_greg_date")
        else:
            jy, jm, jd = gregorian_to_jalali(p.dob.year, p.dob.month, p.dob.day)
            bd = fmt_sh(jy, jm, jd, rng, tags)
            tags.append("dob_sh_date")
        if rng.random() < 0.55:
            age = true_age + (rng.choice((-1, 1)) if rng.random() < 0.05 else 0)
    elif kind == "year":
        y = p.dob.year + p.year_bias
        r = rng.random()
        if r < 0.18:
            y += rng.choice((-1, 1))
        elif r < 0.22:
            y += rng.choice((-2, 2))
        if y != p.dob.year:
            tags.append("dob_year_off")
        r = rng.random()
        if r < 0.06:
            tags.append("dob_missing")
        elif r < 0.44:
            bd = str(y)
            tags.append("dob_greg_year")
        elif r < 0.63:
            bd = fmt_greg(dt.date(y, 1, 1), rng, tags)
            tags.append("dob_jan1")
        elif r < 0.82:
            bd = str(sh_year(y, rng))
            tags.append("dob_sh_year")
        else:
            bd = fmt_sh(sh_year(y, rng), 1, 1, rng, tags)
            tags.append("dob_hamal1")
        if rng.random() < 0.5:
            age = reg.year - y - (1 if rng.random() < 0.4 else 0)
    else:
        a = true_age + p.age_bias
        if true_age >= 10:
            a += rng.choice((0, 0, 0, 1, -1))
        elif rng.random() < 0.2:
            a += rng.choice((1, -1))
        if true_age >= 12 and rng.random() < 0.55:
            a = 5 * int(round(a / 5.0))
            tags.append("age_heaped")
        a = max(0, a)
        if repeat and p.said_age is not None and rng.random() < 0.3:
            a = p.said_age          # the same age said again, months later: not advanced
            tags.append("age_not_advanced")
        p.said_age = a
        if a != true_age:
            tags.append("age_off")
        if rng.random() < 0.97:
            age = a
        r = rng.random()
        if r < 0.75:
            if bd == "" and age != "":
                tags.append("age_only")
        else:
            y = reg.year - a
            r2 = rng.random()
            if r2 < 0.6:
                bd = str(y)
                tags.append("dob_greg_year")
            elif r2 < 0.8:
                bd = "%04d-01-01" % y
                tags.append("dob_jan1")
            else:
                bd = str(sh_year(y, rng))
                tags.append("dob_sh_year")
    if age != "":
        age = str(age)
        if rng.random() < 0.005:
            age = age + rng.choice((" years", " yrs", "y"))
            tags.append("age_suffix")
    if clk.digits != "lat":
        if bd or age:
            tags.append("digits_" + clk.digits)
        bd = to_digits(bd, clk.digits)
        age = to_digits(age, clk.digits)
    if not bd and not age:
        tags.append("no_dob_no_age")
    return bd, age


def other_script(s):
    return "lat" if s == "ar" else "ar"


def make_record(p, ev, clk, rng):
    tags = []
    # what differs for this person at this registration (a household registering again)
    ov = ev.over.get(id(p)) if ev.over else None
    if ov and "tags" in ov:
        tags.extend(ov["tags"])
    script = clk.script
    if rng.random() < 0.04:
        script = other_script(script)
        tags.append("script_switch_record")
    tags.append("script_" + script)
    age_now = age_on(p.dob, ev.date)
    child = age_now < 15

    def fscript():
        if rng.random() < 0.012:
            tags.append("script_mixed_fields")
            return other_script(script)
        return script

    gtags, ftags, gftags = [], [], []
    given = render_name(p.nref, fscript(), clk, rng, gtags, "given", child=child)
    if ov and ov.get("unnamed"):
        # a baby not yet named, registered with the family
        given = rng.choice(("", "", "Baby", "baby", "Infant")) if script == "lat" else rng.choice(("", "", "نوزاد", "طفل"))
        gtags = ["newborn_unnamed"]
    fref = p.father
    if ov and "father_as" in ov:
        fref = ov["father_as"]
    father = ""
    if fref is not None:
        if rng.random() < (0.04 if age_now >= 15 else 0.02):
            tags.append("father_missing")
        else:
            father = render_name(fref, fscript(), clk, rng, ftags, "father")
    gf = ""
    if p.gf is not None and rng.random() < clk.gf_rate:
        gf = render_name(p.gf, fscript(), clk, rng, gftags, "gf")
    family = ""
    if p.family and p.uses_family and rng.random() < 0.75:
        family = render_family(p.family, fscript(), clk, rng, tags)

    # women recorded through a relation; how often depends on the clerk's habit and, when the household
    # registers again under another head, on the woman's place towards that head
    rel_applied = False
    if p.sex == "F":
        son = p.son
        boost = clk.rel_habit
        if ov:
            son = ov.get("son", son)
            boost *= ov.get("rel_boost", 1.0)
        r = rng.random() / min(boost, 5.0)
        rel = None
        if p.husband is not None and age_now >= 16:
            if son is not None and r < 0.06:
                rel = ("mother", son)
            elif r < 0.12:
                rel = ("wife", p.husband)
            elif r < 0.15:
                rel = ("husband_only", p.husband)
            elif r < 0.16:
                rel = ("placeholder", None)
        elif p.father is not None:
            if r < 0.035:
                rel = ("daughter", p.father)
            elif r < 0.05:
                rel = ("father_only", p.father)
        if rel:
            rel_applied = True
            kind, ref = rel
            if kind == "mother" and ov and "son" in ov:
                tags.append("rel_restated_to_new_head")     # "mother of" the son now standing as head
            sc = script
            if kind == "placeholder":
                given = "Bibi" if sc == "lat" else "بی بی"
                gtags = ["woman_placeholder_name"]
            else:
                rtags = []
                rn = render_name(ref, sc, clk, rng, rtags, "rel")
                if kind in ("husband_only", "father_only"):
                    given = ""
                    gtags = []
                    father = rn
                    ftags = rtags + ["woman_" + kind]
                    gf = ""
                    gftags = []
                else:
                    if sc == "lat":
                        tpl = rng.choice({"wife": WIFE_LAT, "daughter": DAU_LAT, "mother": MOT_LAT}[kind])
                    else:
                        tpl = rng.choice({"wife": WIFE_AR, "daughter": DAU_AR, "mother": MOT_AR}[kind][clk.aprof])
                    given = tpl.format(rn)
                    if sc == "lat":
                        given = apply_case(given, clk.case, rng)
                    gtags = rtags + ["woman_" + kind + "_of"]
                    if kind == "wife":
                        r2 = rng.random()
                        if r2 < 0.35:
                            father = rn
                            ftags = list(rtags) + ["husband_in_father_col"]
                        elif r2 < 0.6:
                            father = ""
                            ftags = []
                        if rng.random() < 0.7:
                            gf = ""
                            gftags = []
    tags.extend(gtags)
    tags.extend(ftags)
    tags.extend(gftags)

    # wrong columns
    r = rng.random() if not rel_applied else 1.0
    if r < 0.015 and given and father:
        given, father = father, given
        tags.append("swap_given_father")
    elif r < 0.020 and given and not family:
        family, given = given, ""
        tags.append("given_in_family_col")
    elif r < 0.030 and given and father:
        if script == "lat":
            pre = rng.choice(DAU_PREFIX_LAT if p.sex == "F" else SON_PREFIX_LAT)
        else:
            pre = rng.choice(DAU_PREFIX_AR if p.sex == "F" else SON_PREFIX_AR)
        given = given + " " + (pre + " " if rng.random() < 0.6 else "") + father
        father = ""
        tags.append("fullname_in_given")
    elif r < 0.045 and given and family:
        given = given + " " + family
        if rng.random() < 0.6:
            family = ""
        tags.append("family_in_given")
    elif r < 0.065 and father:
        if script == "lat":
            pre = rng.choice(DAU_PREFIX_LAT if p.sex == "F" else SON_PREFIX_LAT)
        else:
            pre = rng.choice(DAU_PREFIX_AR if p.sex == "F" else SON_PREFIX_AR)
        father = pre + " " + father
        tags.append("father_prefixed")
    elif r < 0.068 and gf and father:
        father, gf = gf, ""
        tags.append("gf_in_father_col")

    # sex
    sex = ""
    r = rng.random()
    if r < 0.03:
        tags.append("sex_missing")
    else:
        sx = p.sex
        if r < 0.034:
            sx = "F" if sx == "M" else "M"
            tags.append("sex_wrong")
        sex = render_sex(sx, clk, rng)

    # what the person can tell of the birth at this desk: some clerks only ask the age; at a later
    # registration the papers may be elsewhere, and a birth date told once becomes a year or an age
    bkind = None
    if clk.age_habit:
        bkind = "age"
        tags.append("clerk_age_only")
    elif ev.kind == "repeat" and p.dob_kind != "age" and rng.random() < 0.25:
        bkind = rng.choice(("year", "age")) if p.dob_kind == "exact" else "age"
        tags.append("dob_retold")
    bd, age = render_birth(p, ev.date, clk, rng, tags, kind=bkind, repeat=ev.kind == "repeat")

    hh = p.hh
    prov = ""
    r = rng.random()
    if r < 0.08:
        tags.append("province_missing")
    else:
        pk = p.own_province if (p.own_province and rng.random() < 0.5) else hh.province
        if r < 0.10:
            pk = PROV_CHOICE.pick(rng).key
            if pk != hh.province:
                tags.append("province_wrong")
        prov = render_province(pk, clk, rng, tags)
    district = ""
    if prov and rng.random() < 0.55:
        didx = hh.district if rng.random() < 0.92 else rng.randint(0, 50)
        district = render_district(hh.province, didx, clk, rng)
    last = ""
    if rng.random() < 0.80:
        ck = hh.city if rng.random() < 0.95 else CITY_CHOICE[hh.xregion].pick(rng)
        last = render_city(ck, clk, rng, tags)
    else:
        tags.append("last_residence_missing")

    dtype, dnum = "", ""
    doc = p.doc
    if doc is None and age_now < 18 and ev.head is not None and ev.head.doc and rng.random() < 0.03:
        doc = ev.head.doc
        tags.append("doc_of_household_head")
    if doc and rng.random() < 0.65:
        t, num = doc
        if clk.script == "ar" and t in DOC_TYPES_AR and rng.random() < 0.5:
            dtype = rng.choice(DOC_TYPES_AR[t])
        else:
            dtype = rng.choice(DOC_TYPES[t])
            if rng.random() < 0.03:
                dtype = ""
                tags.append("doc_type_missing")
        dnum = format_doc(t, num, rng, tags)
        if clk.digits == "per" and rng.random() < 0.4:
            dnum = to_digits(dnum, "per")
            tags.append("doc_persian_digits")
        tags.append("doc_present")

    phone = ""
    phones = hh.phones
    if ev.new_phone:
        if hh.new_phone is None:
            hh.new_phone = af_phone(rng)
        phones = [hh.new_phone]
    if phones:
        rate = 0.85 if p is ev.head else (0.35 if age_now >= 18 else 0.08)
        if ev.kind == "individual":
            rate = 0.6
        if rng.random() < rate:
            num = phones[0] if len(phones) == 1 or rng.random() < 0.7 else phones[1]
            phone = format_phone(num, rng, tags)
            if clk.digits == "per" and rng.random() < 0.3:
                phone = to_digits(phone, "per")
                tags.append("phone_persian_digits")
            if ev.new_phone:
                tags.append("phone_changed")
            tags.append("phone_present")

    rec = {
        "household_id": ev.hid,
        "site": ev.site,
        "registered_on": ev.date.isoformat(),
        "given_name": given,
        "father_name": father,
        "grandfather_name": gf,
        "family_name": family,
        "sex": sex,
        "birth_date": bd,
        "age": age,
        "province_of_origin": prov,
        "district_of_origin": district,
        "last_residence": last,
        "document_type": dtype,
        "document_number": dnum,
        "phone": phone,
    }
    return rec, tags


# ---------------------------------------------------------------------------
# Tracing requests
# ---------------------------------------------------------------------------
# What a caseworker types is what a frightened relative says at a desk, often days later and at
# another site.  The mix below follows what such requests look like:
#   full          most fields a relative knows: given and father's name, age, province, sometimes more
#   thin          only a given name, sex, an approximate age and the province: no father's name
#   first_part    a compound name said by its first part only ("Abdul" for Abdul Jabbar,
#                 "Mohammad" for Mohammad Nabi, "Gul" for Gul Ahmad)
#   ar_slip       typed in Arabic script with one letter dropped or mistyped, the first letter too
#                 (an initial alef dropped, ع heard as ا, ح as ه, a sound-alike س/ص/ث or ز/ذ/ض/ظ)
#   cross_script  the person was registered in one script and is sought in the other, with a slip on top
# and across all kinds: a married woman sought with her husband's name where the father's name is
# expected, and ages stated approximately (rounded, a few years off).  About one request in six is
# for someone who never registered (left behind, detained, a household that never reached a desk).
REQ_UNREGISTERED = 0.17
# first_part is drawn more often than it ends up: a name that is no compound is sought otherwise
REQ_KINDS = (("full", 42), ("thin", 18), ("first_part", 22), ("ar_slip", 12), ("cross_script", 15))
REQ_KIND_CHOICE = wchoice(REQ_KINDS)

# letters confused when a name is written as heard (sound-alikes), or by a dot on the keyboard
AR_SOUNDALIKE = {"ا": "عآ", "آ": "اع", "ع": "اأ", "ح": "ه", "ه": "ح", "س": "صث", "ص": "س", "ث": "س",
                 "ز": "ذضظ", "ذ": "ز", "ض": "ز", "ظ": "ز", "ت": "ط", "ط": "ت", "ق": "غک", "غ": "ق",
                 "ک": "گ", "گ": "ک", "ی": "ئ"}


def slip_arabic(s, rng, first=False):
    """One letter of an Arabic-script name dropped or mistyped; first: the first letter."""
    letters = [i for i, c in enumerate(s) if c in AR_LETTER]
    if len(letters) < 3:
        return s, None
    i = letters[0] if first else rng.choice(letters[1:])
    c = s[i]
    r = rng.random()
    if r < 0.45:
        return s[:i] + s[i + 1:], "drop"
    if c in AR_SOUNDALIKE and r < 0.85:
        return s[:i] + rng.choice(AR_SOUNDALIKE[c]) + s[i + 1:], "soundalike"
    if c in AR_CONFUSE:
        return s[:i] + rng.choice(AR_CONFUSE[c]) + s[i + 1:], "dots"
    return s[:i] + s[i + 1:], "drop"


def slip_name(s, script, rng, tags, what):
    """A slip on top of a name as typed in a request."""
    if not s:
        return s
    if script == "ar":
        first = rng.random() < 0.35
        s2, op = slip_arabic(s, rng, first)
        if op:
            tags.append("req_ar_slip")
            tags.append("req_ar_slip_%s_%s%s" % (what, op, "_first_letter" if first else ""))
            if first:
                tags.append("req_slip_first_letter")
            return s2
        return s
    s2, op = typo_latin(s, rng)
    if op:
        tags.append("req_lat_slip")
        tags.append("req_lat_slip_%s_%s" % (what, op))
        return s2
    return s


def first_part(nref):
    """The compound name shortened to its first part, or None when the name is not such a compound."""
    nm = nref.name
    if len(nm) < 2 or nm[-1] in ("ullah", "uddin") or nm[0] == "bibi":
        return None
    return NameRef(nm[:1], nref.male, nref.honor, nref.honor_rate)


def render_first_part(short, sc, clk, rng, tags, field):
    s = render_name(short, sc, clk, rng, tags, field, mode="req", typo_rate=0.0)
    if sc == "ar" and short.name == ("abdul",):
        s = s.replace("عبدال", "عبدل")          # "Abdul" said alone is written as heard
    return s


def req_age(age_now, kind, rng, tags):
    """The age as the relative states it: approximate, often rounded."""
    r = rng.random()
    if r < 0.35:
        err = 0
    elif r < 0.65:
        err = rng.choice((-1, 1))
    elif r < 0.85:
        err = rng.choice((-2, 2))
    else:
        err = rng.choice((-5, -4, -3, 3, 4, 5))
    a = age_now + err
    if age_now >= 15 and rng.random() < (0.5 if kind == "thin" else 0.25):
        a = 5 * int(round(a / 5.0))
        tags.append("req_age_rounded")
    a = max(0, a)
    if a != age_now:
        tags.append("req_age_off_%d" % min(5, abs(a - age_now)))
    return a


def make_request(rid, p, registered, req_date, rng, tags):
    for _ in range(4):
        kind = REQ_KIND_CHOICE.pick(rng)
        if kind == "cross_script" and p.reg_script is None:
            continue                        # never registered: no script to cross
        if kind == "first_part" and first_part(p.nref) is None and (p.father is None or first_part(p.father) is None):
            continue                        # no compound name to shorten
        break
    else:
        kind = "full"
    script = None
    if kind == "cross_script":
        script = other_script(p.reg_script)
    elif kind == "ar_slip":
        script = "ar"
    clk = Clerk(rng, ar_share=0.28, script=script)
    clk.case = "title" if rng.random() < 0.9 else "upper"
    tags.append("req_kind_" + kind)
    tags.append("req_script_" + clk.script)
    if p.reg_script is not None:
        tags.append("req_same_script_as_registration" if clk.script == p.reg_script else "req_other_script_than_registration")
    age_now = max(0, age_on(p.dob, req_date))
    child = age_now < 15
    sc = clk.script
    req = {"request_id": rid, "person_id": p.pid if registered else None}
    for f in ("given_name", "father_name", "grandfather_name", "family_name", "sex", "age", "province_of_origin",
              "last_residence"):
        req[f] = None

    # given name
    slip_given = kind in ("ar_slip", "cross_script") and rng.random() < 0.7
    if kind != "thin" and rng.random() < 0.02:
        tags.append("req_given_missing")
        slip_given = False
    else:
        short = first_part(p.nref) if kind == "first_part" else None
        if short is not None:
            req["given_name"] = render_first_part(short, sc, clk, rng, tags, "given")
            tags.append("req_given_first_part_only")
        else:
            req["given_name"] = render_name(p.nref, sc, clk, rng, tags, "given", mode="req", child=child,
                                            typo_rate=0.0 if slip_given else 0.03)
        if slip_given:
            req["given_name"] = slip_name(req["given_name"], sc, rng, tags, "given")

    if kind == "thin":
        # only what a relative in shock can say: a given name, sex, about how old, from where
        req["sex"] = rng.choice(("M", "M", "male", "Male")) if p.sex == "M" else rng.choice(("F", "F", "female", "Female"))
        req["age"] = req_age(age_now, kind, rng, tags)
        pk = p.hh.province
        if rng.random() < 0.04:
            pk = PROV_CHOICE.pick(rng).key
            tags.append("req_province_wrong")
            tags.append("req_province_given_" + pk)
        req["province_of_origin"] = render_province(pk, clk, rng, tags, mode="req")
        tags.append("req_no_father_name")
        return req

    # father's name (or the husband's, for a married woman)
    fref = p.father
    if p.sex == "F" and p.husband is not None and age_now >= 16 and rng.random() < 0.35:
        fref = p.husband
        tags.append("req_husband_as_father")
    if fref is not None and rng.random() < 0.85:
        fshort = first_part(fref) if kind == "first_part" and (req["given_name"] is None or
                                                                "req_given_first_part_only" not in tags) else None
        if fshort is not None:
            req["father_name"] = render_first_part(fshort, sc, clk, rng, tags, "father")
            tags.append("req_father_first_part_only")
        else:
            slip_f = kind in ("ar_slip", "cross_script") and not slip_given
            req["father_name"] = render_name(fref, sc, clk, rng, tags, "father", mode="req",
                                             typo_rate=0.0 if slip_f else 0.03)
            if slip_f:
                req["father_name"] = slip_name(req["father_name"], sc, rng, tags, "father")
    else:
        tags.append("req_no_father_name")
    if kind in ("ar_slip", "cross_script") and not slip_given and req["given_name"] and \
            not any(t.startswith(("req_ar_slip_father", "req_lat_slip_father")) for t in tags):
        req["given_name"] = slip_name(req["given_name"], sc, rng, tags, "given")   # no father's name to slip in
    if p.gf is not None and rng.random() < 0.25:
        req["grandfather_name"] = render_name(p.gf, sc, clk, rng, tags, "gf", mode="req", typo_rate=0.03)
    if p.family and p.uses_family and rng.random() < 0.35:
        req["family_name"] = render_family(p.family, sc, clk, rng, tags)
    if rng.random() < 0.88:
        req["sex"] = rng.choice(("M", "M", "M", "male", "Male")) if p.sex == "M" else rng.choice(("F", "F", "F", "female", "Female"))
    else:
        tags.append("req_sex_missing")
    if rng.random() < 0.88:
        req["age"] = req_age(age_now, kind, rng, tags)
    else:
        tags.append("req_age_missing")
    if rng.random() < 0.70:
        pk = p.hh.province
        if rng.random() < 0.04:
            pk = PROV_CHOICE.pick(rng).key
            tags.append("req_province_wrong")
            tags.append("req_province_given_" + pk)
        req["province_of_origin"] = render_province(pk, clk, rng, tags, mode="req")
    else:
        tags.append("req_province_missing")
    if rng.random() < 0.45:
        req["last_residence"] = render_city(p.hh.city, clk, rng, tags)
    return req


def build_requests(world, first_reg, rng):
    n_req = max(1, int(round(0.02 * world.n)))
    n_unreg = int(round(n_req * REQ_UNREGISTERED))
    n_reg = n_req - n_unreg
    reg = [p for p in world.persons if p.regmode != "never"]
    w = []
    for p in reg:
        w.append(_request_weight(p))
    regc = Choice(reg, w)
    chosen = []
    seen = set()
    while len(chosen) < n_reg and len(seen) < len(reg):
        p = regc.pick(rng)
        if p.pid in seen:
            continue
        seen.add(p.pid)
        chosen.append((p, True))
    never = [p for p in world.persons if p.regmode == "never"]
    left_behind = [p for p in never if not p.hh.unregistered]
    whole = [p for p in never if p.hh.unregistered]
    useen = set()
    tries = 0
    while sum(1 for _, r in chosen if not r) < n_unreg and tries < 100000:
        tries += 1
        pool = left_behind if (rng.random() < 0.6 and left_behind) else (whole or left_behind)
        if not pool:
            break
        p = rng.choice(pool)
        if p.pid in useen:
            continue
        useen.add(p.pid)
        chosen.append((p, False))
    rng.shuffle(chosen)
    out = []
    tagl = []
    dates = []
    for i, (p, registered) in enumerate(chosen):
        if registered:
            d = first_reg[p.pid] + dt.timedelta(days=rng.randint(-20, 60))
        else:
            d = wave_date(rng)
        d = max(d, p.dob)          # a baby is sought once born
        tags = ["req_registered" if registered else "req_unregistered"]
        if not registered:
            tags.append("req_unreg_" + ("left_behind" if not p.hh.unregistered else "household_unregistered"))
        out.append(make_request("T-%d" % (i + 1), p, registered, d, rng, tags))
        tagl.append(tags)
    ceilings = request_ceilings(world, first_reg, chosen, out, tagl)
    return out, tagl, ceilings


# ---------------------------------------------------------------------------
# The best any search could do with each request
# ---------------------------------------------------------------------------

def _name_key(nref):
    return None if nref is None else (tuple(nref.name), nref.male, nref.honor, nref.honor_rate)


def _age_window(p, first):
    """The ages a request for p is written with before its noise: p's age on each day a request
    for p may be dated (build_requests: first registration -20..+60 days), as a histogram."""
    lo = max(first - dt.timedelta(days=20), p.dob)
    hi = max(first + dt.timedelta(days=60), p.dob)
    if age_on(p.dob, lo) == age_on(p.dob, hi):
        return ((age_on(p.dob, lo), 81),)
    c = Counter(age_on(p.dob, max(first + dt.timedelta(days=k), p.dob)) for k in range(-20, 61))
    return tuple(sorted(c.items()))


REQ_AGE_ERR = ((0, 0.35), (-1, 0.15), (1, 0.15), (-2, 0.10), (2, 0.10),
               (-5, 0.025), (-4, 0.025), (-3, 0.025), (3, 0.025), (4, 0.025), (5, 0.025))   # req_age


def _stated_age_chance(stated, window, kind):
    """The chance that req_age states `stated` for a person whose true ages over the request's
    possible dates are `window`."""
    total = 0.0
    for age, days in window:
        rounded = (0.5 if kind == "thin" else 0.25) if age >= 15 else 0.0
        for err, pr in REQ_AGE_ERR:
            a = age + err
            chance = (1 - rounded) * (max(0, a) == stated) + rounded * (max(0, 5 * int(round(a / 5.0))) == stated)
            total += days / 81.0 * pr * chance
    return total


def _request_weight(q):
    """How often a person is sought: children most, then women, older men least."""
    a = q.age_ref()
    return 3.0 if a < 18 else (2.0 if q.sex == "F" else (1.5 if a < 60 else 1.0))


class _Facts:
    """What make_request and build_requests read of one person, worked out once."""
    __slots__ = ("sex", "weight", "window", "child_days", "adult_days", "flags", "reg_script", "given",
                 "given_part", "father", "husband", "father_part", "husband_part", "gf", "family", "city",
                 "province")

    def __init__(self, q, first):
        self.sex = q.sex
        self.weight = _request_weight(q)
        self.window = _age_window(q, first)
        self.child_days = sum(d for a, d in self.window if a < 15)
        self.adult_days = sum(d for a, d in self.window if a >= 16)
        self.flags = (first_part(q.nref) is None, q.father is None or first_part(q.father) is None,
                      q.father is None, q.husband is None, q.gf is None, bool(q.family and q.uses_family))
        self.reg_script = q.reg_script
        self.given = _name_key(q.nref)
        self.given_part = _name_key(first_part(q.nref))
        self.father, self.husband = _name_key(q.father), _name_key(q.husband)
        self.father_part = _name_key(first_part(q.father)) if q.father is not None else None
        self.husband_part = _name_key(first_part(q.husband)) if q.husband is not None else None
        self.gf = _name_key(q.gf)
        self.family = q.family
        self.city = q.hh.city
        self.province = q.hh.province


def _fit_key(f, req, tags, kind):
    """Everything make_request and build_requests read of a person (`f`, their _Facts) to
    write this request, but the age and province of origin: two people with the same key write
    the same request with the same chance but for those two."""
    key = [f.sex, f.child_days, f.adult_days, f.flags, f.reg_script if kind == "cross_script" else None]
    if req["given_name"] is not None:
        key.append(f.given_part if "req_given_first_part_only" in tags else f.given)
    if req["father_name"] is not None:
        if "req_father_first_part_only" in tags:
            key.append((f.father_part, f.husband_part))
        else:
            key.append((f.father, f.husband))
    if req["grandfather_name"] is not None:
        key.append(f.gf)
    if req["family_name"] is not None:
        key.append(f.family)
    if req["last_residence"] is not None:
        key.append(f.city)
    return tuple(key)


def request_ceilings(world, first_reg, chosen, reqs, tagl):
    """For each request for a registered person, the most a search could find with it: the
    chance that the person sought comes first, and within the first ten, for a search that
    knew every registered person's true names, age and province and how this generator writes
    requests. It weighs the people the request fits (same true names and everything else the
    request was written from) by the chance of the age and province stated; people it might
    fit through a misspelling are left out, which only raises the ceiling. Recall@1 and
    recall@10 of any search, averaged over requests, cannot exceed these averaged."""
    by_given, by_first_part, by_father = defaultdict(list), defaultdict(list), defaultdict(list)
    for q in world.persons:
        if q.pid in first_reg:
            by_given[(_name_key(q.nref), q.sex)].append(q)
            by_first_part[(_name_key(first_part(q.nref)), q.sex)].append(q)
            by_father[(_name_key(q.father), q.sex)].append(q)
    everyone = defaultdict(list)
    for q in world.persons:
        if q.pid in first_reg:
            everyone[q.sex].append(q)
    prov_share = {p.key: p.weight / PROV_CHOICE.total for p in PROVS}
    facts = {}

    def facts_of(q):
        f = facts.get(q.pid)
        if f is None:
            f = facts[q.pid] = _Facts(q, first_reg[q.pid])
        return f

    ceilings = []
    for (p, registered), req, tags in zip(chosen, reqs, tagl):
        if not registered:
            ceilings.append(None)
            continue
        kind = next(t[len("req_kind_"):] for t in tags if t.startswith("req_kind_"))
        mine = _fit_key(facts_of(p), req, tags, kind)
        if "req_given_first_part_only" in tags:
            pool = by_first_part[(_name_key(first_part(p.nref)), p.sex)]
        elif req["given_name"] is not None:
            pool = by_given[(_name_key(p.nref), p.sex)]
        elif req["father_name"] is not None and "req_husband_as_father" not in tags \
                and "req_father_first_part_only" not in tags:
            pool = by_father[(_name_key(p.father), p.sex)]
        else:
            pool = everyone[p.sex]
        given_prov = next((t[len("req_province_given_"):] for t in tags if t.startswith("req_province_given_")),
                          p.hh.province)
        weights = []
        for q in pool:
            f = facts_of(q)
            if _fit_key(f, req, tags, kind) != mine:
                continue
            w = f.weight
            if req["age"] is not None:
                w *= _stated_age_chance(req["age"], f.window, kind)
            if req["province_of_origin"] is not None:
                w *= 0.96 * (f.province == given_prov) + 0.04 * prov_share[given_prov]
            weights.append(w)
        total = sum(weights)
        weights.sort(reverse=True)
        ceilings.append((len(weights), weights[0] / total, sum(weights[:10]) / total))
    return ceilings


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

COLUMNS = ["record_id", "household_id", "site", "registered_on", "given_name", "father_name", "grandfather_name",
           "family_name", "sex", "birth_date", "age", "province_of_origin", "district_of_origin", "last_residence",
           "document_type", "document_number", "phone"]


def generate(n_people, seed, out):
    t0 = time.time()
    world = World(n_people, seed)
    world.build()
    rng = world.rng
    events = build_events(world)
    records = []   # (rec, pid, tags)
    first_reg = {}
    hh_rows = []   # households.csv: one row per household_id
    for ev in events:
        if ev.prev is not None:
            # a household registering again: a different clerk, often typing in the other script
            clk = Clerk(rng, script=other_script(ev.prev.script) if ev.switch else ev.prev.script)
        else:
            clk = Clerk(rng)
        ev.script = clk.script
        switched = ev.prev is not None and clk.script != ev.prev.script
        for p in ev.members:
            rec, tags = make_record(p, ev, clk, rng)
            tags.append("event_" + ev.kind)
            tags.extend(ev.tags)
            if switched:
                tags.append("script_switched")
            if ev.hh.namesake:
                tags.append("namesake_family")
            if p.hh is not ev.hh:
                tags.append("with_relatives_household")
            records.append((rec, p, tags))
            p.nrec += 1
            if p.pid not in first_reg:
                first_reg[p.pid] = ev.date
                p.reg_script = "ar" if "script_ar" in tags else "lat"
        if ev.hid:
            n_reg = 1
            e = ev.prev
            while e is not None:
                n_reg += 1
                e = e.prev
            hh_rows.append((ev.hid, ev.hh.key, ev.kind, n_reg if ev.kind != "individual" else "",
                            ev.head.pid if ev.head is not None and ev.head in ev.members else "", len(ev.members),
                            ";".join(ev.tags)))
    # every registrable person must have at least one record (safety net; should not trigger)
    for p in world.persons:
        if p.regmode != "never" and p.nrec == 0:
            ev = Event(wave_date(rng), SITE_CHOICE[p.hh.region].pick(rng), p.hh, [p], with_hid=False, kind="individual")
            rec, tags = make_record(p, ev, Clerk(rng), rng)
            tags.append("event_individual")
            records.append((rec, p, tags))
            p.nrec += 1
            first_reg[p.pid] = ev.date
            p.reg_script = "ar" if "script_ar" in tags else "lat"
    records.sort(key=lambda x: x[0]["registered_on"])   # stable: keeps event order within a day
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "registry.csv"), "w", encoding="utf-8", newline="") as f, \
            open(os.path.join(out, "truth.csv"), "w", encoding="utf-8", newline="") as ft, \
            open(os.path.join(out, "noise_tags.csv"), "w", encoding="utf-8", newline="") as fn:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        wt = csv.writer(ft)
        wt.writerow(["record_id", "person_id"])
        wn = csv.writer(fn)
        wn.writerow(["record_id", "person_id", "role", "tags"])
        for i, (rec, p, tags) in enumerate(records):
            rid = "%s-%07d" % (SITES[rec["site"]][0], i + 1)
            rec["record_id"] = rid
            if not (rec["given_name"] or rec["father_name"] or rec["family_name"] or rec["household_id"]):
                rec["given_name"] = render_name(p.nref, "lat", Clerk(rng), rng, tags, "given")
                tags.append("fixed_empty_name")
            w.writerow(rec)
            wt.writerow([rid, p.pid])
            wn.writerow([rid, p.pid, p.role, ";".join(tags)])
            records[i] = (None, p, tags)     # the row is written: free it (memory at a million people)
    with open(os.path.join(out, "households.csv"), "w", encoding="utf-8", newline="") as f:
        # each household_id of registry.csv: the true household it belongs to, its registration
        # number as a unit (1 first, 2 and 3 when it registered again), who stood as head, and why
        # this registration differs from the previous (the same tags as in noise_tags.csv)
        wr = csv.writer(f)
        wr.writerow(["household_id", "true_household", "event", "registration", "head_person_id", "rows", "tags"])
        hh_rows.sort()
        wr.writerows(hh_rows)
    reqs, reqtags, ceilings = build_requests(world, first_reg, rng)
    with open(os.path.join(out, "tracing.jsonl"), "w", encoding="utf-8") as f:
        for r in reqs:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "tracing_tags.csv"), "w", encoding="utf-8", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["request_id", "tags"])
        for r, t in zip(reqs, reqtags):
            wr.writerow([r["request_id"], ";".join(t)])
    with open(os.path.join(out, "tracing_ceiling.csv"), "w", encoding="utf-8", newline="") as f:
        # each request for a registered person: how many registered people it fits by construction,
        # and the most any search could find with it (see request_ceilings)
        wr = csv.writer(f)
        wr.writerow(["request_id", "fitting", "best_at_1", "best_at_10"])
        for r, c in zip(reqs, ceilings):
            if c is not None:
                wr.writerow([r["request_id"], c[0], "%.4f" % c[1], "%.4f" % c[2]])
    gen_time = time.time() - t0
    return world, records, reqs, reqtags, gen_time


def check(out, world=None, records=None, reqtags=None, gen_time=0.0):
    path = os.path.join(out, "registry.csv")
    # read row by row: at a million people a list of all rows would double the peak memory
    ids = set()
    n_rec = 0
    hh = Counter()
    sites = Counter()
    fill = Counter()
    no_hid = 0
    d_lo, d_hi = "9999", "0000"
    with open(path, encoding="utf-8", newline="") as f:
        rd = csv.DictReader(f)
        assert rd.fieldnames == COLUMNS, rd.fieldnames
        for r in rd:
            rid = r["record_id"]
            assert rid and len(rid) <= 64, "bad record_id"
            assert rid not in ids, "duplicate record_id"
            ids.add(rid)
            n_rec += 1
            assert r["given_name"] or r["father_name"] or r["family_name"] or r["household_id"], r
            for k, v in r.items():
                assert len(v) <= 1000
                if v:
                    fill[k] += 1
            if r["household_id"]:
                hh[r["household_id"]] += 1
            else:
                no_hid += 1
            sites[r["site"]] += 1
            d_lo = min(d_lo, r["registered_on"])
            d_hi = max(d_hi, r["registered_on"])
    per = Counter()
    n_truth = 0
    with open(os.path.join(out, "truth.csv"), encoding="utf-8", newline="") as f:
        for t in csv.DictReader(f):
            assert t["record_id"] in ids, "truth names a record not in the registry"
            per[t["person_id"]] += 1
            n_truth += 1
    assert n_truth == n_rec, "truth does not cover registry exactly (or repeats a record)"
    del ids
    reqs = []
    with open(os.path.join(out, "tracing.jsonl"), encoding="utf-8") as f:
        for line in f:
            reqs.append(json.loads(line))
    rids = [q["request_id"] for q in reqs]
    assert len(set(rids)) == len(rids)
    for q in reqs:
        if q["person_id"] is not None:
            assert q["person_id"] in per, q
    n_per = len(per)
    multi = sum(1 for v in per.values() if v >= 2)
    three = sum(1 for v in per.values() if v >= 3)
    pairs = sum(v * (v - 1) // 2 for v in per.values())
    dist = Counter(per.values())
    stats = {
        "records": n_rec,
        "persons": n_per,
        "persons_registered_more_than_once": multi,
        "persons_registered_more_than_once_pct": round(100.0 * multi / n_per, 2),
        "persons_registered_3_or_more": three,
        "records_per_person_distribution": {str(k): dist[k] for k in sorted(dist)},
        "true_duplicate_pairs": pairs,
        "household_ids": len(hh),
        "records_without_household_id": no_hid,
        "requests": len(reqs),
        "requests_registered": sum(1 for q in reqs if q["person_id"] is not None),
        "requests_unregistered": sum(1 for q in reqs if q["person_id"] is None),
        "sites": dict(sites.most_common()),
        "registered_on_range": [d_lo, d_hi],
        "field_fill_pct": {c: round(100.0 * fill[c] / n_rec, 1) for c in COLUMNS},
    }
    if world is not None:
        stats["generation_seconds"] = round(gen_time, 1)
        stats["persons_in_world_incl_unregistered"] = len(world.persons)
        tagc = Counter()
        for _, _, tags in records:
            for t in set(tags):
                tagc[t] += 1
        stats["record_noise_pct"] = {t: round(100.0 * c / n_rec, 2) for t, c in sorted(tagc.items())}
        stats["record_tag_counts"] = {t: c for t, c in sorted(tagc.items())}
        rt = Counter()
        for tl in reqtags:
            for t in set(tl):
                rt[t] += 1
        stats["request_tag_pct"] = {t: round(100.0 * c / max(1, len(reqtags)), 1) for t, c in sorted(rt.items())}
        stats["request_tag_counts"] = {t: c for t, c in sorted(rt.items())}
        stats["request_kinds"] = {t[len("req_kind_"):]: c for t, c in sorted(rt.items()) if t.startswith("req_kind_")}
        # households registering as a unit, and how often again (households.csv)
        with open(os.path.join(out, "households.csv"), encoding="utf-8", newline="") as f:
            nreg = Counter()
            for h in csv.DictReader(f):
                if h["event"] in ("primary", "repeat"):
                    nreg[h["true_household"]] += 1
        dist = Counter(nreg.values())
        again = sum(v for k, v in dist.items() if k >= 2)
        stats["households_registered_as_unit"] = len(nreg)
        stats["households_registered_again"] = again
        stats["households_registered_again_pct"] = round(100.0 * again / max(1, len(nreg)), 2)
        stats["household_registrations_distribution"] = {str(k): dist[k] for k in sorted(dist)}
        # namesake households: unrelated households whose heads share given name, father's name and province
        heads = Counter()
        for h in world.heads:
            if h.regmode != "never" and not h.hh.unregistered:
                heads[(h.nref.name, h.father.name, h.hh.province)] += 1
        stats["namesake_households_injected"] = sum(1 for hh in world.households if hh.namesake)
        stats["head_name_groups_same_given_father_province"] = sum(1 for v in heads.values() if v >= 2)
        stats["households_in_such_groups"] = sum(v for v in heads.values() if v >= 2)
        # hard negatives: different persons sharing exact (given, father) canonical names
        gf_pairs = Counter()
        for p in world.persons:
            if p.regmode != "never" and p.father is not None:
                gf_pairs[(p.nref.name, p.father.name)] += 1
        stats["hard_neg_person_pairs_same_given_and_father_name"] = sum(v * (v - 1) // 2 for v in gf_pairs.values())
        gfy = Counter()
        for p in world.persons:
            if p.regmode != "never" and p.father is not None:
                gfy[(p.nref.name, p.father.name, p.dob.year)] += 1
        stats["hard_neg_person_pairs_same_given_father_and_birth_year"] = sum(v * (v - 1) // 2 for v in gfy.values())
        brothers = Counter()
        for p in world.persons:
            if p.regmode != "never" and p.sex == "M" and p.father is not None:
                brothers[id(p.father)] += 1
        stats["hard_neg_brother_pairs_same_father_ref"] = sum(v * (v - 1) // 2 for v in brothers.values())
        gn = Counter(p.nref.name for p in world.persons if p.regmode != "never")
        stats["top_given_names"] = [(" ".join(k), v) for k, v in gn.most_common(8)]
    with open(os.path.join(out, "stats.json"), "w", encoding="utf-8") as f:
        json.dump(stats, f, ensure_ascii=False, indent=1)
    return stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--people", type=int, required=True, help="number of distinct registered persons")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--verbose", action="store_true", help="print noise rates too")
    a = ap.parse_args()
    world, records, reqs, reqtags, gt = generate(a.people, a.seed, a.out)
    st = check(a.out, world, records, reqtags, gt)
    keys = ["records", "persons", "persons_registered_more_than_once", "persons_registered_more_than_once_pct",
            "persons_registered_3_or_more", "records_per_person_distribution", "true_duplicate_pairs",
            "household_ids", "records_without_household_id", "requests", "requests_registered",
            "requests_unregistered", "request_kinds", "households_registered_as_unit", "households_registered_again",
            "households_registered_again_pct", "household_registrations_distribution", "namesake_households_injected",
            "head_name_groups_same_given_father_province", "households_in_such_groups",
            "registered_on_range", "generation_seconds",
            "hard_neg_person_pairs_same_given_and_father_name",
            "hard_neg_person_pairs_same_given_father_and_birth_year", "hard_neg_brother_pairs_same_father_ref",
            "top_given_names"]
    for k in keys:
        print("%-55s %s" % (k, st.get(k)))
    if a.verbose:
        print("field fill %:", st["field_fill_pct"])
        for t, v in st["record_noise_pct"].items():
            print("  %-40s %6.2f%%" % (t, v))
        for t, v in st["request_tag_pct"].items():
            print("  req %-36s %6.1f%%" % (t, v))
    print("checks passed; wrote", a.out, "(registry.csv, truth.csv, tracing.jsonl, noise_tags.csv, tracing_tags.csv, stats.json)")


if __name__ == "__main__":
    main()
